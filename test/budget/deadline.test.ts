/**
 * The minutes cap as a deadline: its signal fires when the time is up, its clock stands still while
 * the run waits for a person, and the waits between retries grow and are read from the API's headers.
 */
import { describe, expect, it } from 'vitest';
import { BudgetTracker, describeBreach } from '../../src/core/budget/caps.js';
import { Deadline, DeadlineReached } from '../../src/core/budget/deadline.js';
import { loopFrontMatterSchema } from '../../src/core/definition/schema.js';
import { RunControl } from '../../src/core/run/control.js';
import { backoffMs, sleep } from '../../src/core/run/retry-wait.js';
import { retryAfterMs } from '../../src/models/errors.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

describe('Deadline', () => {
  it('fires its signal when the time is up, with a reason that says so', async () => {
    const deadline = new Deadline(20);
    expect(deadline.signal.aborted).toBe(false);
    const reason = await aborted(deadline.signal);
    expect(reason).toBeInstanceOf(DeadlineReached);
    expect(deadline.expired).toBe(true);
    expect(deadline.remainingMs()).toBe(0);
  });

  it('is expired on its clock even before its timer has fired', () => {
    const time = clock();
    const deadline = new Deadline(60_000, time.now);
    time.advance(59_999);
    expect(deadline.expired).toBe(false);
    time.advance(1);
    expect(deadline.expired).toBe(true);
    deadline.dispose();
  });

  it('does not count time while suspended, and resumes where it stopped', () => {
    const time = clock();
    const deadline = new Deadline(60_000, time.now);
    time.advance(10_000);
    deadline.suspend();
    deadline.suspend(); // nested: two waits at once
    time.advance(3_600_000);
    deadline.resume();
    expect(deadline.suspended).toBe(true);
    time.advance(3_600_000);
    expect(deadline.elapsedMs()).toBe(10_000);
    deadline.resume();
    expect(deadline.suspended).toBe(false);
    time.advance(5_000);
    expect(deadline.elapsedMs()).toBe(15_000);
    expect(deadline.expired).toBe(false);
    deadline.dispose();
  });

  it('never fires while suspended, however long the wait', async () => {
    const deadline = new Deadline(30);
    deadline.suspend();
    await sleep(80, new AbortController().signal);
    expect(deadline.signal.aborted).toBe(false);
    deadline.resume();
    await aborted(deadline.signal);
    expect(deadline.expired).toBe(true);
  });

  it('fires at once for a cap already used up', () => {
    expect(new Deadline(0).signal.aborted).toBe(true);
  });
});

describe('the minutes cap and a person', () => {
  it('does not count a pause: the clocks attached to the control stand still while it waits', async () => {
    const time = clock();
    const budget = new BudgetTracker(
      loopFrontMatterSchema.parse({ name: 't', budget: { minutes: 1 } }).budget,
      time.now,
    );
    const control = new RunControl();
    const detach = control.attachClock(budget.deadline);
    time.advance(30_000);
    control.pause();
    const waiting = control.waitWhilePaused();
    expect(budget.deadline.suspended).toBe(true);
    time.advance(10 * 60_000); // ten minutes away from the keyboard
    control.resume();
    await waiting;
    expect(budget.deadline.suspended).toBe(false);
    expect(budget.minutes).toBe(0.5);
    expect(budget.checkSpend()).toBeUndefined();
    time.advance(30_000);
    expect(budget.checkSpend()).toEqual({ cap: 'minutes', limit: 1, used: 1 });
    detach();
    budget.deadline.dispose();
  });

  it('resumes the clock when a stop ends the pause', async () => {
    const time = clock();
    const deadline = new Deadline(60_000, time.now);
    const control = new RunControl();
    control.attachClock(deadline);
    control.pause();
    const waiting = control.waitWhilePaused();
    control.stop();
    await waiting;
    expect(deadline.suspended).toBe(false);
    deadline.dispose();
  });

  it('says why a cap ends the run before it is quite reached', () => {
    const budget = new BudgetTracker(
      loopFrontMatterSchema.parse({ name: 't', budget: { minutes: 2 } }).budget,
    );
    const text = describeBreach(budget.minutesBreach('anthropic asked to wait 60s, longer than the 3s left'));
    expect(text).toMatch(/^minutes budget: used 0 minutes of 2 minutes; anthropic asked to wait 60s/);
    budget.deadline.dispose();
  });
});

describe('the wait before a retry', () => {
  it('backs off exponentially up to 8 s, with up to a quarter of jitter', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => backoffMs(n, none))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect(backoffMs(1, () => 0.999)).toBeGreaterThanOrEqual(375);
    expect(backoffMs(1, () => 0.999)).toBeLessThan(500);
  });

  it('reads retry-after-ms, retry-after in seconds and as a date, and ignores junk', () => {
    const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name] ?? null });
    expect(retryAfterMs(headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '60' }))).toBe(60_000);
    expect(retryAfterMs(headers({ 'retry-after-ms': 'soon', 'retry-after': '2' }))).toBe(2_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' }), now)).toBe(60_000);
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(headers({ 'retry-after': 'whenever' }))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': '-5' }))).toBeUndefined();
    expect(retryAfterMs(headers({}))).toBeUndefined();
  });

  it('ends a sleep when its signal fires', async () => {
    const controller = new AbortController();
    const pending = sleep(3_600_000, controller.signal);
    controller.abort();
    expect(await pending).toBe('aborted');
    expect(await sleep(1, new AbortController().signal)).toBe('slept');
  });
});
