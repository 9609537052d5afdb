import { describe, expect, it } from 'vitest';
import { describeEventLine } from '../../src/core/describe.js';
import type { LoopEvent } from '../../src/core/events.js';

const base = {
  source: 'fleet',
  loop: '',
  run: 'fleet',
  iteration: 0,
  time: '',
  seq: 1,
  span: 'fleet',
} as const;

describe('fleet lines in headless progress', () => {
  it('says why calls wait, and what became of a notification', () => {
    const waiting = {
      ...base,
      type: 'fleet.status',
      state: 'waiting',
      cap: 'daily_usd',
      used: 20,
      limit: 20,
      reason: "the fleet's daily cap is reached",
    } as LoopEvent;
    expect(describeEventLine(waiting)).toBe("$ fleet: the fleet's daily cap is reached");
    const failed = {
      ...base,
      type: 'notify.failed',
      about: 'outcome of a',
      reason: 'HTTP 500',
      attempts: 4,
    } as LoopEvent;
    expect(describeEventLine(failed)).toBe('→ notification not sent: outcome of a: HTTP 500');
    const sent = {
      ...base,
      type: 'notify.sent',
      about: 'outcome of a',
      status: 200,
      attempts: 1,
    } as LoopEvent;
    expect(describeEventLine(sent)).toBe('→ notified: outcome of a (HTTP 200)');
  });
});
