/**
 * Every cap stops the run exactly: checked before each model and tool call, so the run passes a cap by
 * at most the one call in flight, and the outcome names the cap, its limit and what was used.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import { totalTokens, type EventOf, type LoopEvent } from '../../src/core/events.js';
import type { CallRecord } from '../../src/state/ledger.js';
import { readAllSpend } from '../state/read-spend.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { startFakeAnthropic, type FakeServer } from '../support/fake-anthropic.js';
import { runDirect } from './direct-run.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;
let fake: FakeServer | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await fake?.close();
  fake = undefined;
  await repo.cleanup();
});

const LIST_FOREVER =
  'turns:\n  - repeat: true\n    text: Looking around.\n    tool_calls:\n      - { name: list_files, input: {} }\n';

function loopMd(
  name: string,
  agent: string,
  budget: string,
  verify = 'verify:\n  - command: node --version\n',
): string {
  return `---\nname: ${name}\nagent: ${agent}\n${verify}budget: ${budget}\n---\nList the files.\n`;
}

async function runLoop(
  name: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ events: LoopEvent[]; result: Awaited<ReturnType<Supervisor['start']>> }> {
  supervisor = await Supervisor.open(repo.dir, { env, maxRetries: 0 });
  const events: LoopEvent[] = [];
  supervisor.subscribe((e) => events.push(e));
  const result = await supervisor.start(name);
  return { events, result };
}

function responses(events: LoopEvent[]): Array<EventOf<'model.response'>> {
  return events.filter((e): e is EventOf<'model.response'> => e.type === 'model.response');
}

async function ledger(): Promise<CallRecord[]> {
  return readAllSpend(repo.dir);
}

describe('the tokens cap', () => {
  it('stops at the cap, over it by less than the last call, never verified though the grader would pass', async () => {
    await repo.addLoop(
      'tokens-cap',
      loopMd('tokens-cap', '{ provider: scripted, tools: [list_files] }', '{ tokens: 3000 }'),
      LIST_FOREVER,
    );
    const { events, result } = await runLoop('tokens-cap');

    expect(result.outcome).toBe('budget');
    expect(result.budget?.cap).toBe('tokens');
    expect(result.budget?.limit).toBe(3000);
    expect(result.reason).toContain('tokens budget reached');
    const calls = responses(events).map((e) => totalTokens(e.usage));
    const used = calls.reduce((a, b) => a + b, 0);
    expect(result.budget?.used).toBe(used);
    expect(used).toBeGreaterThanOrEqual(3000);
    // Before the last call the run was under the cap: it went over by that one call only.
    expect(used - (calls.at(-1) ?? 0)).toBeLessThan(3000);
    expect(events.some((e) => e.type === 'grader.result')).toBe(false);
    expect(events.filter((e) => e.type === 'run.ended')).toHaveLength(1);
  });
});

describe('the usd cap, priced from the table', () => {
  it('stops once the priced calls reach the cap, and the ledger holds each call at its price', async () => {
    // Each call: 100,000 input tokens × $1/M + 1,000 output × $5/M = $0.105 (Claude Haiku 4.5).
    fake = await startFakeAnthropic(() => ({
      text: 'Listing.',
      toolCalls: [{ name: 'list_files', input: {} }],
      usage: { input_tokens: 100_000, output_tokens: 1_000 },
    }));
    await repo.addLoop(
      'usd-cap',
      loopMd(
        'usd-cap',
        '{ provider: anthropic, model: claude-haiku-4-5, tools: [list_files] }',
        '{ usd: 0.3 }',
      ),
    );
    const { events, result } = await runLoop('usd-cap', {
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: fake.url,
    });

    // $0.21 after two calls is under $0.30, so a third goes out; $0.315 stops the run before its tool call.
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'usd', limit: 0.3, used: 0.315 });
    expect(result.reason).toBe('usd budget reached: used 0.315 USD of 0.3 USD');
    expect(fake.requests).toHaveLength(3);
    expect(events.filter((e) => e.type === 'tool.result')).toHaveLength(2);
    expect(events.some((e) => e.type === 'grader.result')).toBe(false);

    const calls = await ledger();
    expect(calls).toHaveLength(3);
    for (const c of calls) {
      expect(c).toMatchObject({
        loop: 'usd-cap',
        run: result.run,
        step: 'work',
        provider: 'anthropic',
        iteration: 1,
      });
      expect(c.usd).toBeCloseTo(0.105, 10);
      expect(c.usage).toMatchObject({ input: 100_000, output: 1_000, cacheRead: 0, cacheWrite: 0 });
    }
  });

  it('says once that it cannot enforce the usd cap for an unpriced model, and the tokens cap stops the run', async () => {
    fake = await startFakeAnthropic(() => ({
      toolCalls: [{ name: 'list_files', input: {} }],
      usage: { input_tokens: 10_000, output_tokens: 0 },
    }));
    await repo.addLoop(
      'unpriced',
      loopMd(
        'unpriced',
        '{ provider: anthropic, model: claude-unknown-9, tools: [list_files] }',
        '{ usd: 0.01, tokens: 25000 }',
      ),
    );
    const { events, result } = await runLoop('unpriced', {
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: fake.url,
    });

    const warnings = events.filter(
      (e): e is EventOf<'run.error'> => e.type === 'run.error' && e.kind === 'budget.unpriced',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('claude-unknown-9');
    expect(warnings[0]?.message).toContain('usd budget ($0.01) cannot be enforced');
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'tokens', limit: 25_000, used: 30_000 });
    const calls = await ledger();
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.usd === null)).toBe(true);
  });
});

describe('the minutes cap', () => {
  it('stops when the budget clock reaches it, naming the minutes used', async () => {
    await repo.addLoop(
      'slowly',
      loopMd('slowly', '{ provider: scripted, tools: [list_files] }', '{ minutes: 3 }'),
      LIST_FOREVER,
    );
    // Each model call takes a minute on this clock; nothing else moves it.
    let now = 1_000_000;
    const { result, events } = await runDirect(repo.dir, 'slowly', {
      now: () => now,
      onEvent: (e) => {
        if (e.type === 'model.response') now += 60_000;
      },
    });
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'minutes', limit: 3, used: 3 });
    expect(result.reason).toBe('minutes budget reached: used 3 minutes of 3 minutes');
    // The third call's tool call is the first thing checked at 3 minutes: it does not run.
    expect(responses(events)).toHaveLength(3);
    expect(events.filter((e) => e.type === 'tool.result')).toHaveLength(2);
  });
});

describe('the tool-call cap', () => {
  it('stops before the call past the cap', async () => {
    await repo.addLoop(
      'tools-cap',
      loopMd('tools-cap', '{ provider: scripted, tools: [list_files] }', '{ tool_calls: 3 }'),
      LIST_FOREVER,
    );
    const { events, result } = await runLoop('tools-cap');
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'tool_calls', limit: 3, used: 3 });
    expect(result.toolCalls).toBe(3);
    expect(events.filter((e) => e.type === 'tool.call')).toHaveLength(3);
  });
});

describe('the iterations cap', () => {
  it('stops before an iteration past the cap, unverified, with the graders run each time', async () => {
    await repo.addLoop(
      'never-green',
      loopMd(
        'never-green',
        '{ provider: scripted, tools: [list_files] }',
        '{ iterations: 2 }',
        'verify:\n  - command: node -e "process.exit(1)"\n',
      ),
      'turns:\n  - repeat: true\n    text: Done for now.\n',
    );
    const { events, result } = await runLoop('never-green');
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'iterations', limit: 2, used: 2 });
    expect(events.filter((e) => e.type === 'iteration.started')).toHaveLength(2);
    const ended = events.filter((e): e is EventOf<'iteration.ended'> => e.type === 'iteration.ended');
    expect(ended.map((e) => e.verified)).toEqual([false, false]);
  });
});
