/**
 * The spend ledger's two ends: a model.response event becomes a call record, and call records become
 * the spend report (per loop, model, day, run and step). Unpriced calls are counted apart and never
 * add $0 to a total: a total with unpriced calls in it is a lower bound, and says so.
 */
import type { EventOf, ModelStep, TokenUsage } from '../events.js';
import { addUsage, emptyUsage } from '../events.js';
import type { CallRecord } from '../../state/ledger.js';
import { dayOf } from '../../state/ledger.js';
import type { RunRecord } from '../../state/index-db.js';
import type { Pricer } from './prices.js';
import { isOutsideRunId } from '../run/outside-run-id.js';
import {
  addTotals,
  type ModelCell,
  type RollupData,
  type RunCell,
  type Totals,
} from '../../state/spend-rollup.js';

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

export interface SpendReport {
  loop?: string;
  since?: string;
  total: SpendTotals;
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
 * run (a trigger's triage) are in the loop's dollars but are not runs.
 */
function countRuns(
  loops: Map<string, LoopSpend>,
  runs: Iterable<{ loop: string; run: string; status?: string }>,
): void {
  for (const run of runs) {
    const loop = loops.get(run.loop);
    if (!loop || isOutsideRunId(run.run)) continue;
    loop.runs += 1;
    if (run.status === 'verified') loop.verifiedRuns += 1;
  }
  for (const loop of loops.values()) {
    loop.usdPerVerifiedRun = loop.verifiedRuns > 0 ? loop.usd / loop.verifiedRuns : null;
  }
}

export function summariseSpend(
  calls: readonly CallRecord[],
  runs: readonly RunRecord[],
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
  countRuns(loopGroups, runGroups.values());
  const byUsd = (a: SpendTotals, b: SpendTotals): number => b.usd - a.usd || b.calls - a.calls;

  return {
    ...(filter.loop === undefined ? {} : { loop: filter.loop }),
    ...(filter.since === undefined ? {} : { since: filter.since }),
    total,
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
 */
export function summariseRollups(
  rollups: readonly RollupData[],
  runs: readonly RunRecord[],
  filter: { loop?: string; since?: string } = {},
): SpendReport {
  const inRange = (day: string): boolean => filter.since === undefined || day >= filter.since;
  const cells: Array<ModelCell & { loop: string }> = [];
  const runCells: Array<RunCell & { loop: string }> = [];
  for (const rollup of rollups) {
    if (filter.loop !== undefined && rollup.loop !== filter.loop) continue;
    for (const c of rollup.cells) if (inRange(c.day)) cells.push({ ...c, loop: rollup.loop });
    for (const r of rollup.runs) if (inRange(r.day)) runCells.push({ ...r, loop: rollup.loop });
  }
  const byFirst = (a: { first: string }, b: { first: string }): number =>
    a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
  cells.sort(byFirst);
  runCells.sort(byFirst);

  const total = emptyTotals();
  for (const c of cells) addTotals(total, c.totals);
  const status = new Map(runs.map((r) => [`${r.loop}\u0000${r.run}`, r.status]));

  function grouped<T extends SpendTotals>(
    items: ReadonlyArray<{ totals: Totals }>,
    keyOf: (i: number) => string,
    make: (i: number) => T,
  ): T[] {
    const groups = new Map<string, T>();
    items.forEach((item, i) => {
      const key = keyOf(i);
      let group = groups.get(key);
      if (!group) {
        group = make(i);
        groups.set(key, group);
      }
      addTotals(group, item.totals);
    });
    return [...groups.values()];
  }
  const cell = (i: number): ModelCell & { loop: string } => cells[i] as ModelCell & { loop: string };
  const runCell = (i: number): RunCell & { loop: string } => runCells[i] as RunCell & { loop: string };

  const runGroups = grouped(
    runCells,
    (i) => `${runCell(i).loop}\u0000${runCell(i).run}`,
    (i): RunSpend => {
      const { loop, run } = runCell(i);
      const s = status.get(`${loop}\u0000${run}`);
      return { loop, run, ...(s === undefined ? {} : { status: s }), ...emptyTotals() };
    },
  );
  const loopGroups = new Map<string, LoopSpend>();
  for (const c of cells) {
    let loop = loopGroups.get(c.loop);
    if (!loop) {
      loop = { loop: c.loop, runs: 0, verifiedRuns: 0, usdPerVerifiedRun: null, ...emptyTotals() };
      loopGroups.set(c.loop, loop);
    }
    addTotals(loop, c.totals);
  }
  countRuns(loopGroups, runGroups);
  const byUsd = (a: SpendTotals, b: SpendTotals): number => b.usd - a.usd || b.calls - a.calls;
  return {
    ...(filter.loop === undefined ? {} : { loop: filter.loop }),
    ...(filter.since === undefined ? {} : { since: filter.since }),
    total,
    loops: [...loopGroups.values()].sort((a, b) => byUsd(a, b) || a.loop.localeCompare(b.loop)),
    models: grouped(
      cells,
      (i) => `${cell(i).provider}/${cell(i).model}`,
      (i): ModelSpend => ({ provider: cell(i).provider, model: cell(i).model, ...emptyTotals() }),
    ).sort(byUsd),
    days: grouped(
      cells,
      (i) => cell(i).day,
      (i): DaySpend => ({ day: cell(i).day, ...emptyTotals() }),
    ).sort((a, b) => a.day.localeCompare(b.day)),
    runs: runGroups,
    steps: grouped(
      cells,
      (i) => cell(i).step,
      (i): StepSpend => ({ step: cell(i).step, ...emptyTotals() }),
    ),
  };
}
