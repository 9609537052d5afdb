import { describe, expect, it } from 'vitest';
import { callFromEvent, summariseSpend } from '../../src/core/budget/ledger.js';
import { renderSpend } from '../../src/commands/spend.js';
import type { EventOf } from '../../src/core/events.js';
import type { RunRecord } from '../../src/state/index-db.js';
import type { CallRecord } from '../../src/state/ledger.js';

function call(overrides: Partial<CallRecord>): CallRecord {
  return {
    loop: 'a',
    run: 'r1',
    iteration: 1,
    step: 'work',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    usage: { input: 100, output: 10, cacheRead: 1000, cacheWrite: 50 },
    usd: 0.25,
    time: '2026-11-20T10:00:00.000Z',
    ...overrides,
  };
}

function runRecord(loop: string, run: string, status: RunRecord['status']): RunRecord {
  return {
    loop,
    run,
    status,
    trigger: 'manual',
    startedAt: '2026-11-20T09:00:00.000Z',
    iterations: 1,
    branch: '',
    worktree: '',
  };
}

const calls: CallRecord[] = [
  call({ run: 'r1' }),
  call({ run: 'r1', step: 'summary', model: 'claude-haiku-4-5', usd: 0.05 }),
  call({ run: 'r2', time: '2026-11-21T10:00:00.000Z' }),
  call({
    loop: 'b',
    run: 'r3',
    provider: 'openai',
    model: 'llama3.2',
    usd: null,
    time: '2026-11-21T11:00:00.000Z',
  }),
  call({
    loop: 'b',
    run: 'r3',
    provider: 'openai',
    model: 'gpt-4o',
    usd: 0.1,
    time: '2026-11-21T12:00:00.000Z',
  }),
];
const runs = [
  runRecord('a', 'r1', 'failed'),
  runRecord('a', 'r2', 'verified'),
  runRecord('b', 'r3', 'verified'),
];

describe('summariseSpend', () => {
  const report = summariseSpend(calls, runs);

  it('totals tokens over every call and dollars over the priced ones, unpriced kept apart', () => {
    expect(report.total.calls).toBe(5);
    expect(report.total.unpricedCalls).toBe(1);
    expect(report.total.usd).toBeCloseTo(0.65, 10);
    expect(report.total.usage).toEqual({ input: 500, output: 50, cacheRead: 5000, cacheWrite: 250 });
  });

  it('groups per loop with $ per verified run (failed attempts count toward the cost)', () => {
    const a = report.loops.find((l) => l.loop === 'a');
    expect(a).toMatchObject({ calls: 3, runs: 2, verifiedRuns: 1, unpricedCalls: 0 });
    expect(a?.usd).toBeCloseTo(0.55, 10);
    expect(a?.usdPerVerifiedRun).toBeCloseTo(0.55, 10);
    const b = report.loops.find((l) => l.loop === 'b');
    expect(b).toMatchObject({ calls: 2, runs: 1, verifiedRuns: 1, unpricedCalls: 1 });
    expect(b?.usd).toBeCloseTo(0.1, 10);
    expect(report.loops.map((l) => l.loop)).toEqual(['a', 'b']);
  });

  it('groups per model, an unknown model showing only unpriced calls', () => {
    const llama = report.models.find((m) => m.model === 'llama3.2');
    expect(llama).toMatchObject({ provider: 'openai', calls: 1, unpricedCalls: 1, usd: 0 });
    expect(report.models.find((m) => m.model === 'claude-sonnet-4-5')?.calls).toBe(2);
    expect(report.models[0]?.model).toBe('claude-sonnet-4-5');
  });

  it('groups per UTC day, in order, and per step', () => {
    expect(report.days.map((d) => [d.day, d.calls])).toEqual([
      ['2026-11-20', 2],
      ['2026-11-21', 3],
    ]);
    expect(report.steps.map((s) => [s.step, s.calls])).toEqual([
      ['work', 4],
      ['summary', 1],
    ]);
  });

  it('groups per run with the outcome from the index', () => {
    expect(report.runs.map((r) => [r.run, r.status, r.calls])).toEqual([
      ['r1', 'failed', 2],
      ['r2', 'verified', 1],
      ['r3', 'verified', 2],
    ]);
  });

  it("counts hill-climbing's pseudo-runs as neither runs nor the cost of a verified run, and shows them apart", () => {
    const climbed = summariseSpend(
      [
        ...calls,
        call({ run: 'improve-p-1', step: 'analyst', usd: 0.02 }),
        call({ run: 'improve-p-1-eval', usd: 0.3 }),
        call({ run: 'improve-p-1-eval', step: 'review', usd: 0.1 }),
      ],
      runs,
    );
    const a = climbed.loops.find((l) => l.loop === 'a');
    expect(a).toMatchObject({ calls: 6, runs: 2, verifiedRuns: 1 });
    expect(a?.usd).toBeCloseTo(0.97, 10);
    expect(a?.usdPerVerifiedRun).toBeCloseTo(0.55, 10);
    expect(climbed.hillclimb?.analyst).toMatchObject({ calls: 1 });
    expect(climbed.hillclimb?.analyst.usd).toBeCloseTo(0.02, 10);
    expect(climbed.hillclimb?.evaluation).toMatchObject({ calls: 2 });
    expect(climbed.hillclimb?.evaluation.usd).toBeCloseTo(0.4, 10);
    expect(renderSpend(climbed)).toMatch(
      /hill-climb[^\n]*\n\s*analyst\s+1\s[^\n]*\$0\.02\d*\n\s*evaluation\s+2\s/,
    );
    expect(report.hillclimb).toBeUndefined();
    expect(renderSpend(report)).not.toContain('hill-climb');
  });

  it('has no $ per verified run for a loop that never verified', () => {
    const only = summariseSpend([call({ run: 'r1' })], [runRecord('a', 'r1', 'budget')]);
    expect(only.loops[0]?.usdPerVerifiedRun).toBeNull();
  });
});

describe('callFromEvent', () => {
  const event: EventOf<'model.response'> = {
    type: 'model.response',
    loop: 'a',
    run: 'r1',
    iteration: 3,
    time: '2026-11-20T10:00:00.000Z',
    seq: 7,
    span: 'run:r1/i3/model2',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    step: 'review',
    text: '',
    toolCalls: [],
    stopReason: 'end_turn',
    usage: { input: 1000, output: 0, cacheRead: 0, cacheWrite: 0 },
    durationMs: 5,
  };

  it('keeps the step, the iteration and the price the event carries', () => {
    const record = callFromEvent({ ...event, usd: 0.5 }, () => 99);
    expect(record).toMatchObject({ step: 'review', iteration: 3, usd: 0.5, run: 'r1', loop: 'a' });
  });

  it('keeps an event that says unpriced as unpriced', () => {
    expect(callFromEvent({ ...event, usd: null }, () => 99).usd).toBeNull();
  });

  it('prices the call itself when the event carries no price', () => {
    expect(callFromEvent(event, (_model, usage) => usage.input / 1000).usd).toBe(1);
  });
});
