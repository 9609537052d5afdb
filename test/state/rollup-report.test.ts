/**
 * `loops spend`'s report from the rollups gives what the report from every call gives: the same
 * groups, in the same order, the same sums and the same keys (JSON output is compared whole).
 */
import { describe, expect, it } from 'vitest';
import { summariseRollups, summariseSpend } from '../../src/core/budget/ledger.js';
import type { RunOutcome } from '../../src/state/index-db.js';
import type { CallRecord } from '../../src/state/ledger.js';
import { Rollup } from '../../src/state/spend-rollup.js';

function call(loop: string, run: string, time: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    loop,
    run,
    iteration: 1,
    step: 'work',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    usage: { input: 100, output: 20, cacheRead: 300, cacheWrite: 50 },
    // Binary fractions: sums are exact in any grouping, so the two reports can be compared to the bit.
    usd: 0.25,
    time,
    ...overrides,
  };
}

function rollupsOf(calls: CallRecord[]): Rollup[] {
  const byLoop = new Map<string, Rollup>();
  for (const c of calls) {
    let rollup = byLoop.get(c.loop);
    if (!rollup) {
      rollup = Rollup.empty(c.loop);
      byLoop.set(c.loop, rollup);
    }
    rollup.absorb(c.run, [c], 0);
  }
  return [...byLoop.values()];
}

// Four loops that spent alike ($0.75 in two calls: their order falls to their names), optional usage keys that first
// appear on a later call, an unpriced call, two days and three steps.
const CALLS: CallRecord[] = [
  call('b-x', 'r1', '2026-11-20T10:00:00.000Z'),
  call('ab', 'r2', '2026-11-20T10:01:00.000Z', { step: 'summary' }),
  call('a-b', 'r3', '2026-11-20T10:02:00.000Z', { model: 'claude-sonnet-4-5', usd: 0.75 }),
  call('a0', 'r4', '2026-11-20T10:03:00.000Z'),
  call('b-x', 'r1', '2026-11-21T10:00:00.000Z', {
    usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 4, reasoning: 5 },
    usd: 0.5,
  }),
  call('ab', 'r2', '2026-11-21T10:01:00.000Z', {
    usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 4, cacheWrite1h: 6 },
    step: 'review',
    usd: 0.5,
  }),
  call('a-b', 'r3', '2026-11-21T10:02:00.000Z', { usd: null, model: 'llama3.2', provider: 'ollama' }),
  call('a0', 'r4', '2026-11-21T10:03:00.000Z', { usd: 0.5 }),
];
const OUTCOMES: RunOutcome[] = [
  { loop: 'b-x', run: 'r1', status: 'verified' },
  { loop: 'ab', run: 'r2', status: 'budget' },
  { loop: 'a0', run: 'r4', status: 'verified' },
];

describe('the spend report from rollups', () => {
  it('is the report from every call, key for key and in the same order', () => {
    const fromRollups = summariseRollups(
      rollupsOf(CALLS).map((r) => r.data),
      OUTCOMES,
    );
    const fromCalls = summariseSpend(CALLS, OUTCOMES);
    expect(JSON.stringify(fromRollups)).toBe(JSON.stringify(fromCalls));
    expect(fromRollups.loops.map((l) => l.loop)).toEqual(['a-b', 'a0', 'ab', 'b-x']);
  });

  it('is the same for one loop and from a day on', () => {
    const rollups = rollupsOf(CALLS).map((r) => r.data);
    for (const filter of [{ loop: 'ab' }, { since: '2026-11-21' }, { loop: 'a-b', since: '2026-11-21' }]) {
      const calls = CALLS.filter(
        (c) => (filter.loop === undefined || c.loop === filter.loop) && c.time.slice(0, 10) >= (filter.since ?? ''),
      );
      expect(JSON.stringify(summariseRollups(rollups, OUTCOMES, filter))).toBe(
        JSON.stringify(summariseSpend(calls, OUTCOMES, filter)),
      );
    }
  });
});
