/** The fleet gate alone, with an injected clock and a hand-made job context (no supervisor, no git). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventListener, LoopEvent, LoopEventBody } from '../../src/core/events.js';
import type { JobContext } from '../../src/core/jobs.js';
import { FleetGate, type FleetBudget } from '../../src/fleet/gate.js';
import { statePaths } from '../../src/state/paths.js';

let dir: string;
let clock: number;
const call = { loop: 'a', run: 'r1', model: 'm', step: 'work' as const };

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loops-fleet-gate-'));
  // Noon, local time: a day's boundary is a deliberate move of the clock, never an accident.
  const d = new Date();
  clock = new Date(d.getFullYear(), d.getMonth(), d.getDate(), 12, 0, 0).getTime();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  gate: FleetGate;
  events: Array<{ loop: string; body: LoopEventBody }>;
  drained: () => number;
  spend(usd: number | null): void;
}

async function harness(budget: FleetBudget): Promise<Harness> {
  const listeners = new Set<EventListener>();
  const events: Harness['events'] = [];
  let drains = 0;
  const ctx = {
    repoRoot: dir,
    paths: statePaths(dir),
    env: {},
    subscribe: (l: EventListener) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit: (_source: string, loop: string, body: LoopEventBody) => events.push({ loop, body }),
    drainQueue: () => {
      drains += 1;
    },
    signal: new AbortController().signal,
    reportError: (e: unknown) => {
      throw e;
    },
  } as unknown as JobContext;
  const gate = new FleetGate(budget, { now: () => clock, recheckMs: 2 });
  await gate.start(ctx);
  let seq = 0;
  return {
    gate,
    events,
    drained: () => drains,
    spend(usd) {
      const event = {
        type: 'model.response',
        loop: 'a',
        run: 'r1',
        iteration: 1,
        time: new Date(clock).toISOString(),
        seq: ++seq,
        span: 's',
        provider: 'scripted',
        model: 'm',
        step: 'work',
        text: '',
        toolCalls: [],
        stopReason: 'end_turn',
        usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        usd,
        durationMs: 1,
      } as LoopEvent;
      for (const l of listeners) l(event);
    },
  };
}

function statuses(h: Harness): string[] {
  return h.events.flatMap(({ body }) =>
    body.type === 'fleet.status' ? [`${body.state} ${body.cap} ${body.used.toFixed(2)}/${body.limit}`] : [],
  );
}

async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  const marker = Symbol('pending');
  const value = await Promise.race([p, new Promise<typeof marker>((r) => setImmediate(() => r(marker)))]);
  return value === marker ? { done: false } : { done: true, value: value as T };
}

describe('the fleet gate', () => {
  it('lets calls go under the cap, holds them at it, and lets them go the next day', async () => {
    const h = await harness({ daily_usd: 3 });
    const stop = new AbortController();
    expect(await h.gate.wait(call, stop.signal)).toBe('go');
    h.spend(1);
    h.spend(1);
    expect(await h.gate.wait(call, stop.signal)).toBe('go');
    expect(h.gate.holdStart()).toBeUndefined();
    h.spend(1.5);
    const held = h.gate.wait(call, stop.signal);
    const other = h.gate.wait({ ...call, loop: 'b' }, stop.signal);
    expect((await settled(held)).done).toBe(false);
    expect(h.gate.holdStart()).toMatch(/daily cap is reached \(\$3\.50 of \$3\.00 today\)/);
    expect(h.gate.info().waiting).toMatch(/wait until midnight/);
    expect(h.gate.usage()).toMatchObject({ todayUsd: 3.5, waiting: 2 });
    expect(statuses(h)).toContain('waiting daily_usd 3.50/3');

    // Hours pass within the day: still held (the recheck timer runs meanwhile).
    clock += 11 * 3_600_000 + 59 * 60_000;
    await new Promise((r) => setTimeout(r, 10));
    expect((await settled(held)).done).toBe(false);

    clock += 2 * 60_000; // past local midnight
    await expect(held).resolves.toBe('go');
    await expect(other).resolves.toBe('go');
    expect(statuses(h).filter((s) => s.startsWith('released'))).toHaveLength(1);
    await vi.waitFor(() => expect(h.drained()).toBeGreaterThan(0));
    expect(h.gate.holdStart()).toBeUndefined();
    expect(h.gate.usage().todayUsd).toBe(0);
  });

  it('a stop ends a held call at once', async () => {
    const h = await harness({ daily_usd: 1 });
    h.spend(1);
    const stop = new AbortController();
    const held = h.gate.wait(call, stop.signal);
    expect((await settled(held)).done).toBe(false);
    stop.abort();
    await expect(held).resolves.toBe('stopped');
    expect(h.gate.usage().waiting).toBe(0);
    // Already stopped: it never waits.
    await expect(h.gate.wait(call, stop.signal)).resolves.toBe('stopped');
  });

  it('warns at 80% and 100% once each per day', async () => {
    const h = await harness({ daily_usd: 10 });
    h.spend(7);
    expect(statuses(h)).toEqual([]);
    h.spend(1); // 8: 80%
    h.spend(0.5);
    h.spend(0.5);
    expect(statuses(h)).toEqual(['warning daily_usd 8.00/10']);
    h.spend(1); // 10: 100%, and calls wait
    h.spend(2);
    expect(statuses(h)).toEqual([
      'warning daily_usd 8.00/10',
      'warning daily_usd 10.00/10',
      'waiting daily_usd 10.00/10',
    ]);
    const first = h.events.find((e) => e.body.type === 'fleet.status' && e.body.state === 'warning');
    expect(first?.body.type === 'fleet.status' ? first.body.reason : '').toContain('at 80%');
    // The next day starts again from nothing, and warns again.
    clock += 24 * 3_600_000;
    expect(await h.gate.wait(call, new AbortController().signal)).toBe('go');
    h.spend(9);
    expect(statuses(h).slice(-2)).toEqual(['released daily_usd 0.00/10', 'warning daily_usd 9.00/10']);
  });

  it('holds calls while the burn rate is at its cap and lets them go when it falls', async () => {
    // $8/h: $2 within 15 minutes.
    const h = await harness({ burn_usd_per_hour: 8 });
    h.spend(1);
    clock += 10 * 60_000;
    expect(await h.gate.wait(call, new AbortController().signal)).toBe('go');
    h.spend(1);
    expect(h.gate.usage().burnUsdPerHour).toBe(8);
    const held = h.gate.wait(call, new AbortController().signal);
    expect((await settled(held)).done).toBe(false);
    expect(h.gate.holdStart()).toMatch(/burn rate is \$8\.00\/h over the last 15 minutes/);
    // The first call leaves the window 15 minutes after it: $1 in the window, $4/h, under the cap.
    clock += 5 * 60_000;
    await expect(held).resolves.toBe('go');
    expect(h.gate.usage().burnUsdPerHour).toBe(4);
    expect(statuses(h)).toEqual([
      'warning burn_usd_per_hour 8.00/8',
      'warning burn_usd_per_hour 8.00/8',
      'waiting burn_usd_per_hour 8.00/8',
      'released burn_usd_per_hour 4.00/8',
    ]);
  });

  it('counts only priced dollars and ignores nonsense', async () => {
    const h = await harness({ daily_usd: 1 });
    h.spend(null);
    h.spend(Number.NaN);
    h.spend(-5);
    h.spend(0.5);
    expect(h.gate.usage().todayUsd).toBe(0.5);
    expect(await h.gate.wait(call, new AbortController().signal)).toBe('go');
  });

  it('with no caps it never holds anything', async () => {
    const h = await harness({});
    for (let i = 0; i < 100; i++) h.spend(100);
    expect(await h.gate.wait(call, new AbortController().signal)).toBe('go');
    expect(h.gate.holdStart()).toBeUndefined();
    expect(h.events).toEqual([]);
  });
});
