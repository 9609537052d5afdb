/**
 * Ctrl-C twice: `loops run --headless` against a fake OpenAI API that answers 429 with
 * `retry-after: 3600`. The first Ctrl-C stops the run in its retry wait at once; a second one forces
 * the exit, yet the run still records its end (run.ended in the trace, the stopped outcome).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { startFakeOpenAI, type FakeServer } from '../support/fake-openai.js';
import { startCli, type RunningCli } from './cli-process.js';

let repo: TestRepo;
let scratch: string;
let fake: FakeServer;
let cli: RunningCli | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-cli-'));
  fake = await startFakeOpenAI(() => ({
    error: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfter: '3600' },
  }));
});

afterEach(async () => {
  await cli?.kill();
  cli = undefined;
  await fake.close();
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

it('records run.ended when Ctrl-C is pressed twice during a long retry wait', async () => {
  await repo.addLoop(
    'limited',
    '---\nname: limited\nagent: { provider: openai, model: gpt-test }\nbudget: { minutes: 600 }\n---\nWork.\n',
  );
  cli = startCli(['run', 'limited', '--headless'], {
    scratch,
    cwd: repo.dir,
    env: { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: fake.url },
  });
  await cli.waitForStderr(/↻ openai attempt 1 failed \(HTTP 429\); retrying in 3600s/);
  cli.signal('SIGINT');
  await cli.waitForStderr(/loops: stopping the run/);
  cli.signal('SIGINT');

  const result = await cli.result;
  expect([5, 130]).toContain(result.exitCode);
  expect(result.stderr).toContain('[limited #1] ■ stopped: stopped by a person');
  const runs = join(repo.dir, 'state', 'limited', 'traces');
  const traces = (await readdir(runs)).filter((f) => f.endsWith('.jsonl'));
  expect(traces).toHaveLength(1);
  const events = (await readFile(join(runs, traces[0]!), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; outcome?: string });
  expect(events.filter((e) => e.type === 'run.ended').map((e) => e.outcome)).toEqual(['stopped']);
  expect(fake.requests).toHaveLength(1);
});
