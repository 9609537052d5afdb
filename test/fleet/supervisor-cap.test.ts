/**
 * The fleet's caps through the real supervisor: real git worktrees, the scripted provider, a price
 * function that makes every call cost $1, and an injected clock for the day's turn.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { defaultFleet } from '../../src/fleet/file.js';
import { fleetFrom, type Fleet } from '../../src/fleet/index.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;
let clock: number;
const DAY = 24 * 3_600_000;

const SCRIPT = `turns:
  - text: "working on it"
    repeat: true
`;

beforeEach(async () => {
  repo = await makeRepo();
  const d = new Date();
  clock = new Date(d.getFullYear(), d.getMonth(), d.getDate(), 12).getTime();
  // Never verified: five $1 calls (work, summary, work, summary, work), then its iterations are spent.
  await repo.addLoop(
    'spender',
    `---
name: spender
agent: { provider: scripted }
verify:
  - command: "false"
budget: { iterations: 3, usd: 1000 }
stall: { window: 50, on_stall: nudge }
concurrency: 8
sandbox: off
---
Spend.
`,
    SCRIPT,
  );
  await repo.addLoop(
    'quick',
    `---
name: quick
agent: { provider: scripted }
verify:
  - command: "true"
budget: { iterations: 1, usd: 1000 }
sandbox: off
---
Be quick.
`,
    SCRIPT,
  );
}, 60_000);

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await repo.cleanup();
}, 60_000);

async function open(budget: { daily_usd?: number; burn_usd_per_hour?: number }, maxConcurrent = 8) {
  const fleet: Fleet = fleetFrom(
    { ...defaultFleet(), budget, max_concurrent: maxConcurrent },
    {},
    {
      gate: { now: () => clock, recheckMs: 5 },
    },
  );
  const s = await Supervisor.open(repo.dir, { ...fleet.options, attended: true, price: () => 1 });
  supervisor = s;
  const events: LoopEvent[] = [];
  s.subscribe((e) => events.push(e));
  await fleet.addTo(s);
  return { s, fleet, events };
}

function ended(events: LoopEvent[]): Array<Extract<LoopEvent, { type: 'run.ended' }>> {
  return events.filter((e): e is Extract<LoopEvent, { type: 'run.ended' }> => e.type === 'run.ended');
}

describe('the fleet cap through the supervisor', () => {
  it('holds a new run in the queue with the reason and releases it the next day', async () => {
    const { s, fleet, events } = await open({ daily_usd: 3 });
    expect(s.limit).toBe(8);
    expect(s.send({ type: 'start', loop: 'spender' })).toMatchObject({ status: 'started' });
    // Three $1 calls, then its fourth waits at the cap.
    await vi.waitFor(() => expect(fleet.gate.usage().waiting).toBe(1), { timeout: 20_000 });
    expect(events.some((e) => e.type === 'fleet.status' && e.state === 'waiting')).toBe(true);

    const queued = s.send({ id: 'q1', type: 'start', loop: 'quick' });
    expect(queued).toMatchObject({ ok: true, status: 'queued' });
    expect(queued.reason).toMatch(/daily cap is reached \(\$3\.00 of \$3\.00 today\)/);
    expect(s.snapshot().queue).toEqual([expect.objectContaining({ id: 'q1', loop: 'quick' })]);
    expect(s.loops().find((l) => l.name === 'quick')?.waiting).toMatch(/daily cap/);
    expect(s.loops().find((l) => l.name === 'spender')?.waiting).toMatch(/daily cap/);
    // The held run is not ended by the wait: no outcome yet, whatever the minutes budget says.
    expect(ended(events)).toEqual([]);

    clock += DAY;
    await vi.waitFor(
      () =>
        expect(
          events.some((e) => e.type === 'command.replied' && e.id === 'q1' && e.status === 'started'),
        ).toBe(true),
      { timeout: 20_000 },
    );
    await vi.waitFor(() => expect(ended(events)).toHaveLength(2), { timeout: 30_000 });
    const outcomes = Object.fromEntries(ended(events).map((e) => [e.loop, e.outcome]));
    expect(outcomes).toEqual({ spender: 'budget', quick: 'verified' });
    expect(events.some((e) => e.type === 'fleet.status' && e.state === 'released')).toBe(true);
    // The new day counted from nothing: spender's last two calls and quick's one.
    expect(fleet.gate.usage().todayUsd).toBe(3);
  }, 90_000);

  it('eight runs in flight pass the cap by at most one call each, then wait until stopped', async () => {
    const { s, fleet, events } = await open({ daily_usd: 3 });
    const runs = 8;
    for (let i = 0; i < runs; i++) expect(s.send({ type: 'start', loop: 'spender' }).ok).toBe(true);
    // Every run ends up waiting at the cap (or has ended within its iterations: none can, at $3).
    await vi.waitFor(() => expect(fleet.gate.usage().waiting).toBe(runs), { timeout: 60_000 });
    const spent = fleet.gate.usage().todayUsd;
    expect(spent).toBeGreaterThanOrEqual(3);
    // Before the cap: under $3 when the last call was let go; then at most one call per run in flight.
    expect(spent).toBeLessThanOrEqual(2 + runs);
    // Without the gate these runs would spend runs × 5 calls = $40.
    await s.shutdown('test over');
    const results = ended(events);
    expect(results).toHaveLength(runs);
    expect(results.every((e) => e.outcome === 'stopped')).toBe(true);
    const billed = results.reduce((sum, e) => sum + e.spend.usd, 0);
    expect(billed).toBe(spent);
  }, 120_000);

  it('counts what was spent today before it started, from the ledger', async () => {
    const first = await Supervisor.open(repo.dir, { attended: true, price: () => 1 });
    supervisor = first;
    const result = await first.start('quick');
    expect(result.spend.usd).toBe(1);
    await first.shutdown();
    supervisor = undefined;

    clock = Date.now();
    const { s, fleet } = await open({ daily_usd: 1 });
    expect(fleet.gate.usage().todayUsd).toBe(1);
    const queued = s.send({ type: 'start', loop: 'quick' });
    expect(queued).toMatchObject({ status: 'queued' });
    expect(queued.reason).toMatch(/daily cap is reached \(\$1\.00 of \$1\.00 today\)/);
  }, 90_000);

  it('a burn-rate cap holds calls until the window moves on', async () => {
    // $12/h = $3 in 15 minutes: three calls, then the fourth waits; the last two make $8/h.
    const { s, fleet, events } = await open({ burn_usd_per_hour: 12 });
    s.send({ type: 'start', loop: 'spender' });
    await vi.waitFor(() => expect(fleet.gate.usage().waiting).toBe(1), { timeout: 20_000 });
    expect(fleet.gate.usage().burnUsdPerHour).toBe(12);
    clock += 15 * 60_000 + 1;
    await vi.waitFor(() => expect(ended(events)).toHaveLength(1), { timeout: 30_000 });
    expect(ended(events)[0]).toMatchObject({ outcome: 'budget', iterations: 3 });
    const states = events.flatMap((e) => (e.type === 'fleet.status' ? [`${e.state} ${e.cap}`] : []));
    expect(states).toContain('waiting burn_usd_per_hour');
    expect(states).toContain('released burn_usd_per_hour');
  }, 90_000);
});
