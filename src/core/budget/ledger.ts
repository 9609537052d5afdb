/**
 * The spend ledger's two ends: a model.response event becomes a call record, and call records become
 * the spend report (per loop, model, day, run and step). Unpriced calls are counted apart and never
 * add $0 to a total: a total with unpriced calls in it is a lower bound, and says so.
 */
import type { EventOf, ModelStep, TokenUsage } from '../events.js';
import { addUsage, emptyUsage } from '../events.js';
import type { CallRecord } from '../../state/ledger.js';
import { dayOf } from '../../state/ledger.js';
import type { RunOutcome, RunRecord } from '../../state/index-db.js';
import type { Pricer } from './prices.js';
import { isOutsideRunId } from '../run/outside-run-id.js';
import { hillclimbPart } from '../proposals.js';
import { type ModelCell, type RollupData, type RunCell } from '../../state/spend-rollup.js';

/**
 * The ledger record of one response. The event's own price is used when it has one; otherwise the
 * run's pricer prices it (the same table, so the two agree).
 */
export function callFromEvent(event: EventOf<'model.response'>, price: Pricer): CallRecord {
  return {
    loop: event.loop,
    run: event.run,
    iteration: event.iteration,
    step: event.step,
    provider: event.provider,
    model: event.model,
    usage: { ...event.usage },
    usd: event.usd !== undefined ? event.usd : price(event.model, event.usage),
    time: event.time,
  };
}

export interface SpendTotals {
  calls: number;
  /** Calls whose model is not in the price table; their tokens are in `usage`, their cost nowhere. */
  unpricedCalls: number;
  usage: TokenUsage;
  /** USD of the priced calls only. */
  usd: number;
}

export interface LoopSpend extends SpendTotals {
  loop: string;
  runs: number;
  verifiedRuns: number;
  /**
   * Everything the loop spent (failed attempts included: they are what a verified run cost) divided
   * by its verified runs; null when none verified.
   */
  usdPerVerifiedRun: number | null;
}

export interface ModelSpend extends SpendTotals {
  provider: string;
  model: string;
}

export interface DaySpend extends SpendTotals {
  /** YYYY-MM-DD, UTC. */
  day: string;
}

export interface RunSpend extends SpendTotals {
  loop: string;
  run: string;
  /** The run's status in the index; absent when the index has no record of it. */
  status?: RunRecord['status'];
}

export interface StepSpend extends SpendTotals {
  step: ModelStep;
}

/** Hill-climbing's spend (docs/hillclimb.md): in the totals, never counted as runs. */
export interface HillclimbSpend {
  analyst: SpendTotals;
  /** The evaluation's re-runs, with and without each proposal. */
  evaluation: SpendTotals;
}

export interface SpendReport {
  loop?: string;
  since?: string;
  total: SpendTotals;
  /** Present when hill-climbing spent anything in the report's scope. */
  hillclimb?: HillclimbSpend;
  loops: LoopSpend[];
  models: ModelSpend[];
  days: DaySpend[];
  runs: RunSpend[];
  steps: StepSpend[];
}

export function emptyTotals(): SpendTotals {
  return { calls: 0, unpricedCalls: 0, usage: emptyUsage(), usd: 0 };
}

function add(into: SpendTotals, call: CallRecord): void {
  into.calls += 1;
  into.usage = addUsage(into.usage, call.usage);
  if (call.usd === null) into.unpricedCalls += 1;
  else into.usd += call.usd;
}

function groupBy<K extends string, T extends SpendTotals>(
  calls: readonly CallRecord[],
  keyOf: (call: CallRecord) => K,
  make: (call: CallRecord) => T,
): Map<K, T> {
  const groups = new Map<K, T>();
  for (const call of calls) {
    const key = keyOf(call);
    let group = groups.get(key);
    if (!group) {
      group = make(call);
      groups.set(key, group);
    }
    add(group, call);
  }
  return groups;
}

/**
 * The spend report of `calls` (already filtered), with run outcomes from `runs` for $ per verified
 * run. Loops and models are sorted by dollars spent, days and runs by time.
 */
/**
 * Each loop's runs and verified runs, and from them its dollars per verified run. Calls made outside a
 * run (a trigger's triage) are in the loop's dollars but are not runs. Hill-climbing's pseudo-runs
 * are neither runs nor part of what a verified run cost (they are spent on the harness, not the
 * task): they are returned apart, by part.
 */
function countRuns(loops: Map<string, LoopSpend>, runs: Iterable<RunSpend>): HillclimbSpend {
  const hillclimb: HillclimbSpend = { analyst: emptyTotals(), evaluation: emptyTotals() };
  const spentOnHarness = new Map<string, number>();
  for (const run of runs) {
    const loop = loops.get(run.loop);
    const part = hillclimbPart(run.run);
    if (part !== undefined) {
      addInto(hillclimb[part], run);
      spentOnHarness.set(run.loop, (spentOnHarness.get(run.loop) ?? 0) + run.usd);
      continue;
    }
    if (!loop || isOutsideRunId(run.run)) continue;
    loop.runs += 1;
    if (run.status === 'verified') loop.verifiedRuns += 1;
  }
  for (const loop of loops.values()) {
    const usd = loop.usd - (spentOnHarness.get(loop.loop) ?? 0);
    loop.usdPerVerifiedRun = loop.verifiedRuns > 0 ? usd / loop.verifiedRuns : null;
  }
  return hillclimb;
}

export function summariseSpend(
  calls: readonly CallRecord[],
  runs: readonly RunOutcome[],
  filter: { loop?: string; since?: string } = {},
): SpendReport {
  const total = emptyTotals();
  for (const call of calls) add(total, call);
  const status = new Map(runs.map((r) => [`${r.loop}\u0000${r.run}`, r.status]));

  const runGroups = groupBy(
    calls,
    (c) => `${c.loop}\u0000${c.run}`,
    (c): RunSpend => {
      const s = status.get(`${c.loop}\u0000${c.run}`);
      return { loop: c.loop, run: c.run, ...(s === undefined ? {} : { status: s }), ...emptyTotals() };
    },
  );
  const loopGroups = groupBy(
    calls,
    (c) => c.loop,
    (c): LoopSpend => ({ loop: c.loop, runs: 0, verifiedRuns: 0, usdPerVerifiedRun: null, ...emptyTotals() }),
  );
  const hillclimb = countRuns(loopGroups, runGroups.values());
  const byUsd = (a: SpendTotals, b: SpendTotals): number => b.usd - a.usd || b.calls - a.calls;

  return {
    ...(filter.loop === undefined ? {} : { loop: filter.loop }),
    ...(filter.since === undefined ? {} : { since: filter.since }),
    total,
    ...withHillclimb(hillclimb),
    loops: [...loopGroups.values()].sort((a, b) => byUsd(a, b) || a.loop.localeCompare(b.loop)),
    models: [
      ...groupBy(
        calls,
        (c) => `${c.provider}/${c.model}`,
        (c): ModelSpend => ({ provider: c.provider, model: c.model, ...emptyTotals() }),
      ).values(),
    ].sort(byUsd),
    days: [
      ...groupBy(
        calls,
        (c) => dayOf(c.time),
        (c): DaySpend => ({ day: dayOf(c.time), ...emptyTotals() }),
      ).values(),
    ].sort((a, b) => a.day.localeCompare(b.day)),
    // Calls are oldest first, so runs come out in the order they first spent.
    runs: [...runGroups.values()],
    steps: [
      ...groupBy(
        calls,
        (c) => c.step,
        (c): StepSpend => ({ step: c.step, ...emptyTotals() }),
      ).values(),
    ],
  };
}

/**
 * The same report from the loops' rollups (state/<loop>/spend/totals.json) instead of every call:
 * what `loops spend` reads, so its cost does not grow with the number of calls. Groups come out in
 * the order `summariseSpend` gives them (ties by the time a group first spent).
 *
 * One pass over the cells in order of first spend feeds every group, so each group adds its cells in
 * the same order as a pass per group would: the dollar sums come out the same to the last bit.
 */
export function summariseRollups(
  rollups: readonly RollupData[],
  runs: readonly RunOutcome[],
  filter: { loop?: string; since?: string } = {},
): SpendReport {
  const since = filter.since;
  const cells: Array<{ loop: string; cell: ModelCell }> = [];
  const runCells: Array<{ loop: string; cell: RunCell }> = [];
  for (const rollup of rollups) {
    if (filter.loop !== undefined && rollup.loop !== filter.loop) continue;
    const loop = rollup.loop;
    for (const cell of rollup.cells) if (since === undefined || cell.day >= since) cells.push({ loop, cell });
    for (const cell of rollup.runs)
      if (since === undefined || cell.day >= since) runCells.push({ loop, cell });
  }
  const byFirst = (a: { cell: { first: string } }, b: { cell: { first: string } }): number =>
    a.cell.first < b.cell.first ? -1 : a.cell.first > b.cell.first ? 1 : 0;
  cells.sort(byFirst);
  runCells.sort(byFirst);

  const total = emptyTotals();
  const loops = new Map<string, LoopSpend>();
  const models = new Map<string, ModelSpend>();
  const days = new Map<string, DaySpend>();
  const steps = new Map<string, StepSpend>();
  // Groups are made only on a key's first cell (`??` does not build the literal otherwise).
  for (const { loop, cell: c } of cells) {
    const t = c.totals;
    addInto(total, t);
    addInto(
      loops.get(loop) ??
        made(loops, loop, { loop, runs: 0, verifiedRuns: 0, usdPerVerifiedRun: null, ...emptyTotals() }),
      t,
    );
    const model = `${c.provider}/${c.model}`;
    addInto(
      models.get(model) ?? made(models, model, { provider: c.provider, model: c.model, ...emptyTotals() }),
      t,
    );
    addInto(days.get(c.day) ?? made(days, c.day, { day: c.day, ...emptyTotals() }), t);
    addInto(steps.get(c.step) ?? made(steps, c.step, { step: c.step, ...emptyTotals() }), t);
  }
  const status = new Map<string, RunOutcome['status']>();
  for (const r of runs) status.set(`${r.loop}\u0000${r.run}`, r.status);
  const runGroups = new Map<string, RunSpend>();
  for (const { loop, cell: r } of runCells) {
    const key = `${loop}\u0000${r.run}`;
    let found = runGroups.get(key);
    if (found === undefined) {
      const s = status.get(key);
      found = made(runGroups, key, {
        loop,
        run: r.run,
        ...(s === undefined ? {} : { status: s }),
        ...emptyTotals(),
      });
    }
    addInto(found, r.totals);
  }
  const hillclimb = countRuns(loops, runGroups.values());
  const byUsd = (a: SpendTotals, b: SpendTotals): number => b.usd - a.usd || b.calls - a.calls;
  return {
    ...(filter.loop === undefined ? {} : { loop: filter.loop }),
    ...(since === undefined ? {} : { since }),
    total,
    ...withHillclimb(hillclimb),
    loops: [...loops.values()].sort((a, b) => byUsd(a, b) || byName(a.loop, b.loop)),
    models: [...models.values()].sort(byUsd),
    // YYYY-MM-DD: code-unit order is day order (and far cheaper than a locale's collation).
    days: [...days.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0)),
    runs: [...runGroups.values()],
    steps: [...steps.values()],
  };
}

function withHillclimb(h: HillclimbSpend): { hillclimb?: HillclimbSpend } {
  return h.analyst.calls + h.evaluation.calls > 0 ? { hillclimb: h } : {};
}

/** Loop names (letters, digits and hyphens, state/paths.ts): where code-unit order is the collation's. */
const PLAIN_NAME = /^[a-z0-9-]*$/;

/**
 * `a.localeCompare(b)` without loading the collator (a few ms at start-up) for plain loop names, where
 * both orders agree: hyphen before digits before lowercase letters, and a prefix first.
 */
function byName(a: string, b: string): number {
  if (PLAIN_NAME.test(a) && PLAIN_NAME.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}

function made<T>(groups: Map<string, T>, key: string, group: T): T {
  groups.set(key, group);
  return group;
}

/**
 * `addTotals` without a new usage object per cell: the same sums, in the same order, and the same
 * keys in the same order (the optional ones go through addUsage the first time they appear).
 */
function addInto(into: SpendTotals, more: SpendTotals): void {
  into.calls += more.calls;
  into.unpricedCalls += more.unpricedCalls;
  const u = into.usage;
  const m = more.usage;
  if (
    (m.cacheWrite1h !== undefined && u.cacheWrite1h === undefined) ||
    (m.reasoning !== undefined && u.reasoning === undefined)
  ) {
    into.usage = addUsage(u, m);
  } else {
    u.input += m.input;
    u.output += m.output;
    u.cacheRead += m.cacheRead;
    u.cacheWrite += m.cacheWrite;
    if (u.cacheWrite1h !== undefined) u.cacheWrite1h += m.cacheWrite1h ?? 0;
    if (u.reasoning !== undefined) u.reasoning += m.reasoning ?? 0;
  }
  into.usd += more.usd;
}
