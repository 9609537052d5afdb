/**
 * The spend of a call still in flight (a CLI agent's session) counts against the spend caps while it
 * runs, is replaced as it grows rather than added up, and is counted once when the call is recorded.
 */
import { describe, expect, it } from 'vitest';
import { BudgetTracker } from '../../src/core/budget/caps.js';
import { loopFrontMatterSchema } from '../../src/core/definition/schema.js';

function tracker(budget: Record<string, number>, now: () => number = () => 0): BudgetTracker {
  return new BudgetTracker(loopFrontMatterSchema.parse({ name: 't', budget }).budget, now);
}

const usage = (input: number) => ({ input, output: 0, cacheRead: 0, cacheWrite: 0 });

describe('BudgetTracker, the call in flight', () => {
  it('counts its tokens against the tokens cap, the latest running total only', () => {
    const b = tracker({ tokens: 1000 });
    b.recordUsage(usage(400), 0);
    b.setInFlight(usage(500), 0);
    expect(b.checkSpend()).toBeUndefined();
    b.setInFlight(usage(600), 0);
    expect(b.checkSpend()).toEqual({ cap: 'tokens', limit: 1000, used: 1000 });
    expect(b.checkToolCall()).toEqual({ cap: 'tokens', limit: 1000, used: 1000 });
  });

  it('counts its dollars against the usd cap, and nothing when it cannot be priced', () => {
    const b = tracker({ usd: 1 });
    b.recordUsage(usage(10), 0.5);
    b.setInFlight(usage(10), null);
    expect(b.checkSpend()).toBeUndefined();
    b.setInFlight(usage(20), 0.6);
    expect(b.checkSpend()).toEqual({ cap: 'usd', limit: 1, used: 1.1 });
  });

  it('is checked with the minutes cap too', () => {
    let now = 0;
    const b = tracker({ minutes: 2 }, () => now);
    b.setInFlight(usage(10), 0.01);
    expect(b.checkSpend()).toBeUndefined();
    now = 120_000;
    expect(b.checkSpend()).toEqual({ cap: 'minutes', limit: 2, used: 2 });
  });

  it('is replaced by what is recorded, so nothing is counted twice', () => {
    const b = tracker({ tokens: 1000 });
    b.setInFlight(usage(900), 0.9);
    b.recordUsage(usage(700), 0.7);
    expect(b.tokens).toBe(700);
    expect(b.usd).toBe(0.7);
    expect(b.checkSpend()).toBeUndefined();
  });

  it('is dropped when the call ends with nothing to record', () => {
    const b = tracker({ tokens: 1000 });
    b.setInFlight(usage(2000), 0);
    b.clearInFlight();
    expect(b.checkSpend()).toBeUndefined();
    expect(b.tokens).toBe(0);
  });
});
