/**
 * Whole runs of an anthropic loop against the fake server, through the Supervisor: what goes on the
 * wire from iteration to iteration, and what a stream that keeps breaking does to the run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import { readTrace } from '../../src/state/trace.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { startFakeAnthropic, type FakeAnthropicHandler, type FakeServer } from '../support/fake-anthropic.js';

const LOOP = `---
name: cached
agent:
  provider: anthropic
  model: claude-sonnet-4-6
  tools: [read_file, list_files]
verify:
  - command: node -e "process.exit(1)"
budget: { iterations: 2 }
---
Make the cart total right. Read the tests first.
`;

let repo: TestRepo;
let fake: FakeServer | undefined;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  await repo.addLoop('cached', LOOP);
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await fake?.close();
  fake = undefined;
  await repo.cleanup();
});

async function open(handler: FakeAnthropicHandler, maxRetries = 0): Promise<Supervisor> {
  fake = await startFakeAnthropic(handler);
  supervisor = await Supervisor.open(repo.dir, {
    env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: fake.url },
    maxRetries,
  });
  return supervisor;
}

describe('an anthropic loop against the fake API', () => {
  it('sends a byte-identical stable prefix (system + tools) every iteration; what changes comes after', async () => {
    const s = await open(() => ({ text: 'Looked at it; ending my turn.' }));
    const result = await s.start('cached');
    expect(result.outcome).toBe('budget');

    // The agent's calls carry tools; any other call (a summary, a judge) is not the agent's prefix.
    const work = fake!.requests.filter((r) => Array.isArray(r.body.tools) && r.body.tools.length > 0);
    expect(work.length).toBeGreaterThanOrEqual(2);
    const prefix = (raw: string): string => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      return `${JSON.stringify(body.tools)}\n${JSON.stringify(body.system)}`;
    };
    const first = prefix(work[0]!.raw);
    for (const request of work.slice(1)) expect(prefix(request.raw)).toBe(first);
    // ...and the prefix really is marked for caching, and is not empty.
    expect(first).toContain('"cache_control":{"type":"ephemeral"}');
    expect(first).toContain('Make the cart total right.');
    // The iterations differ in what comes after the prefix: the grader's feedback reached iteration 2.
    expect(JSON.stringify(work.at(-1)!.body.messages)).not.toBe(JSON.stringify(work[0]!.body.messages));
    expect(JSON.stringify(work[0]!.body.system)).not.toContain('iteration 1');
  });

  it('retries a stream that broke off once, then fails the run with the provider error', async () => {
    const s = await open(() => ({ text: 'Starting to answer', cut: true }), 1);
    const result = await s.start('cached');

    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('broke off in the middle of the response');
    expect(fake!.requests).toHaveLength(2);
    const trace = await readTrace(result.tracePath);
    const seen = trace.flatMap((e) =>
      e.type === 'run.error' || e.type === 'provider.retry' ? [`${e.type} ${e.kind}`] : [],
    );
    expect(seen).toEqual(['provider.retry connection', 'run.error provider.connection']);
    expect(trace.filter((e) => e.type === 'model.request')).toHaveLength(2);
  });

  it('goes on when the retry succeeds', async () => {
    const s = await open(
      (_body, index) => (index === 0 ? { text: 'Starting to answer', cut: true } : { text: 'Done for now.' }),
      1,
    );
    const result = await s.start('cached');
    expect(result.outcome).toBe('budget');
    expect(result.iterations).toBe(2);
  });

  it('runs the memory handoffs on Haiku and the work on the loop model, on the wire and in the trace', async () => {
    const s = await open(() => ({ text: 'Looked at it; ending my turn.' }));
    const result = await s.start('cached');
    expect(result.outcome).toBe('budget');
    const trace = await readTrace(result.tracePath);
    const requests = trace.flatMap((e) => (e.type === 'model.request' ? [`${e.step} ${e.model}`] : []));
    expect(requests).toContain('work claude-sonnet-4-6');
    expect(requests).toContain('summary claude-haiku-4-5');
    expect(requests.filter((r) => r.startsWith('work ')).every((r) => r === 'work claude-sonnet-4-6')).toBe(
      true,
    );
    expect(
      requests.filter((r) => r.startsWith('summary ')).every((r) => r === 'summary claude-haiku-4-5'),
    ).toBe(true);
    // What the API was asked for, not only what loops says it asked for.
    expect(new Set(fake!.requests.map((r) => r.body.model))).toEqual(
      new Set(['claude-sonnet-4-6', 'claude-haiku-4-5']),
    );
  });

  it('keeps the handoffs where agent.route.summary puts them', async () => {
    await repo.addLoop(
      'cached',
      LOOP.replace(
        '  model: claude-sonnet-4-6\n',
        '  model: claude-sonnet-4-6\n  route: { summary: claude-opus-4-6 }\n',
      ),
    );
    const s = await open(() => ({ text: 'Looked at it; ending my turn.' }));
    const result = await s.start('cached');
    const trace = await readTrace(result.tracePath);
    const summaries = trace.flatMap((e) =>
      e.type === 'model.request' && e.step === 'summary' ? [e.model] : [],
    );
    expect(summaries.length).toBeGreaterThan(0);
    expect(new Set(summaries)).toEqual(new Set(['claude-opus-4-6']));
  });
});
