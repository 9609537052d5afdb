/**
 * A setting the agent's CLI ignores is said at the run's start, not only by `loops validate`: Codex and
 * OPENAI_BASE_URL, against a fake codex on PATH in a real run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import { describeEventLine } from '../../src/core/describe.js';
import { readTrace } from '../../src/state/trace.js';
import { makeCliFixture, type CliFixture } from '../models/cli-fixture.js';
import { makeRepo, type TestRepo } from './helpers.js';

let repo: TestRepo;
let cli: CliFixture;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  cli = await makeCliFixture({ codex: 'fake-codex.mjs' });
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await cli.cleanup();
  await repo.cleanup();
});

const LOOP = `---
name: by-codex
agent: { provider: codex }
verify:
  - command: "true"
budget: { iterations: 1 }
---
Work.
`;

async function notes(extra: NodeJS.ProcessEnv): Promise<string[]> {
  await repo.addLoop('by-codex', LOOP);
  supervisor = await Supervisor.open(repo.dir, {
    env: cli.env('ok', { OPENAI_API_KEY: 'sk-test-key-0000', ...extra }),
    maxRetries: 0,
  });
  const result = await supervisor.start('by-codex');
  const events = await readTrace(result.tracePath);
  const said = events.filter((e) => e.type === 'run.error' && e.kind === 'agent.setting');
  // Before the agent's first call, and in the words the screen and headless lines show.
  const first = events.findIndex((e) => e.type === 'model.request');
  for (const e of said) expect(events.indexOf(e)).toBeLessThan(first);
  // A note, not the provider failing: the error tracker records nothing for it.
  expect(events.filter((e) => e.type === 'error.recorded' && e.class === 'provider_error')).toEqual([]);
  return said.map((e) => describeEventLine(e) ?? '');
}

describe('a codex run', () => {
  it('says once, at its start, that OPENAI_BASE_URL is not read by current Codex', async () => {
    const said = await notes({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    expect(said).toEqual([
      'agent.setting: codex: OPENAI_BASE_URL (http://127.0.0.1:9/v1) is passed to Codex, but current ' +
        'Codex no longer reads it and uses its own configured endpoint; set agent.base_url to point Codex elsewhere',
    ]);
  });

  it('says nothing when OPENAI_BASE_URL is not set', async () => {
    expect(await notes({})).toEqual([]);
  });
});
