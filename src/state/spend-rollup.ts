/**
 * One loop's rolled-up spend, state/<loop>/spend/totals.json: totals per (day, model, step), per
 * (run, day) and per hour, plus which bytes of which run files they have absorbed. Its size grows
 * with days, models and runs, never with calls, so `loops spend` costs the same at 10 or 10^6 calls.
 *
 * Exactly once: a call is added to the totals and its file's offset is moved past it together, and
 * the file is replaced whole (atomic rename), so a crash between a call's append and the rollup's
 * write leaves the call beyond the recorded offset: the next open absorbs it, once.
 */
import { readFile } from 'node:fs/promises';
import type { ModelStep, TokenUsage } from '../core/events.js';
import { addUsage, emptyUsage } from '../core/events.js';
import { writeFileAtomic } from './atomic.js';
import { isNotFound } from './errno.js';
import { dayOf, type CallRecord } from './ledger.js';

export const ROLLUP_VERSION = 1;
/** Hourly totals (the burn rate) are kept this many days back from the newest hour; days are kept forever. */
export const HOURS_KEPT_DAYS = 31;

export interface Totals {
  calls: number;
  unpricedCalls: number;
  usage: TokenUsage;
  usd: number;
}

export interface ModelCell {
  day: string;
  provider: string;
  model: string;
  step: ModelStep;
  /** Time of the first call in the cell: reports list groups in the order they first spent. */
  first: string;
  totals: Totals;
}

export interface RunCell {
  run: string;
  day: string;
  first: string;
  totals: Totals;
}

export interface HourCell {
  /** YYYY-MM-DDTHH, UTC. */
  hour: string;
  totals: Totals;
}

export interface FileMark {
  /** Bytes of the run's file absorbed into these totals (always the end of a whole line). */
  offset: number;
  /** The run ended and its file was fully absorbed: it is not read again. */
  closed?: boolean;
  /** The file was deleted by `loops clean --older-than`; its calls live on in these totals only. */
  compacted?: boolean;
}

export interface RollupData {
  version: typeof ROLLUP_VERSION;
  loop: string;
  cells: ModelCell[];
  runs: RunCell[];
  hours: HourCell[];
  files: Record<string, FileMark>;
}

/**
 * The rollup is loops' own file, replaced whole by atomic renames, but it can still be edited or
 * damaged by hand: a plain structural check (fast enough for thousands of cells, where a schema
 * library costs more than reading the file) says which field is wrong.
 */
function checkRollup(raw: unknown): string | undefined {
  if (!isRecord(raw)) return 'not an object';
  if (raw.version !== ROLLUP_VERSION) return 'version: expected 1';
  if (typeof raw.loop !== 'string') return 'loop: expected a string';
  const lists: Array<[string, unknown, readonly string[]]> = [
    ['cells', raw.cells, CELL_STRINGS],
    ['runs', raw.runs, RUN_STRINGS],
    ['hours', raw.hours, HOUR_STRINGS],
  ];
  for (const [name, list, strings] of lists) {
    if (!Array.isArray(list)) return `${name}: expected an array`;
    const steps = name === 'cells';
    for (let i = 0; i < list.length; i++) {
      const problem = checkCell(list[i], strings, steps);
      if (problem) return `${name}.${i}.${problem}`;
    }
  }
  if (!isRecord(raw.files)) return 'files: expected an object';
  for (const run in raw.files) {
    const mark = raw.files[run];
    if (!isRecord(mark) || typeof mark.offset !== 'number') return `files.${run}.offset: expected a number`;
  }
  return undefined;
}

const STEPS = new Set(['work', 'triage', 'summary', 'review', 'analyst']);
const CELL_STRINGS = ['day', 'provider', 'model', 'first'] as const;
const RUN_STRINGS = ['run', 'day', 'first'] as const;
const HOUR_STRINGS = ['hour'] as const;
const TOTAL_NUMBERS = ['calls', 'unpricedCalls', 'usd'] as const;
const USAGE_NUMBERS = ['input', 'output', 'cacheRead', 'cacheWrite'] as const;

function checkCell(item: unknown, strings: readonly string[], steps: boolean): string | undefined {
  if (!isRecord(item)) return 'expected an object';
  for (const key of strings) if (typeof item[key] !== 'string') return `${key}: expected a string`;
  if (steps && !STEPS.has(item.step as string)) return 'step: expected work, triage, summary or review';
  const t = item.totals;
  if (!isRecord(t)) return 'totals: expected an object';
  for (const key of TOTAL_NUMBERS) if (typeof t[key] !== 'number') return `totals.${key}: expected a number`;
  const u = t.usage;
  if (!isRecord(u)) return 'totals.usage: expected an object';
  for (const key of USAGE_NUMBERS) if (typeof u[key] !== 'number') return `totals.usage.${key}: expected a number`;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class RollupError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${file} is not a readable spend rollup (${detail}); it was left as is: repair it, or move it ` +
        'aside and loops rebuilds it from the per-run files (calls of compacted runs would then be missing)',
      options,
    );
    this.name = 'RollupError';
  }
}

export function emptyTotalsOf(): Totals {
  return { calls: 0, unpricedCalls: 0, usage: emptyUsage(), usd: 0 };
}

export function addCall(into: Totals, call: CallRecord): void {
  into.calls += 1;
  into.usage = addUsage(into.usage, call.usage);
  if (call.usd === null) into.unpricedCalls += 1;
  else into.usd += call.usd;
}

export function addTotals(into: Totals, more: Totals): void {
  into.calls += more.calls;
  into.unpricedCalls += more.unpricedCalls;
  into.usage = addUsage(into.usage, more.usage);
  into.usd += more.usd;
}

/** A loop's rollup in memory, with indexes over its cells so each call is added in O(1). */
export class Rollup {
  dirty = false;
  private readonly cellAt = new Map<string, ModelCell>();
  private readonly runAt = new Map<string, RunCell>();
  private readonly hourAt = new Map<string, HourCell>();

  /** The indexes are built on the first call added: a reader that only reports never needs them. */
  private indexed = false;

  constructor(readonly data: RollupData) {}

  private index(): void {
    if (this.indexed) return;
    this.indexed = true;
    for (const c of this.data.cells) this.cellAt.set(cellKey(c.day, c.provider, c.model, c.step), c);
    for (const r of this.data.runs) this.runAt.set(`${r.run}\u0000${r.day}`, r);
    for (const h of this.data.hours) this.hourAt.set(h.hour, h);
  }

  static empty(loop: string): Rollup {
    return new Rollup({ version: ROLLUP_VERSION, loop, cells: [], runs: [], hours: [], files: {} });
  }

  /** The rollup on disk, or an empty one when there is none yet. */
  static async load(file: string, loop: string): Promise<Rollup> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return Rollup.empty(loop);
      throw error;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new RollupError(file, `invalid JSON: ${error instanceof Error ? error.message : ''}`, {
        cause: error,
      });
    }
    const version = typeof raw === 'object' && raw !== null && 'version' in raw ? raw.version : undefined;
    if (typeof version === 'number' && version !== ROLLUP_VERSION)
      throw new RollupError(file, `format version ${version}, but this loops reads ${ROLLUP_VERSION}`);
    const problem = checkRollup(raw);
    if (problem) throw new RollupError(file, problem);
    return new Rollup(raw as RollupData);
  }

  async save(file: string): Promise<void> {
    await writeFileAtomic(file, `${JSON.stringify(this.data)}\n`);
    this.dirty = false;
  }

  mark(run: string): FileMark | undefined {
    return this.data.files[run];
  }

  /** Adds calls read from (or just appended to) `run`'s file, moving its offset to `offset`. */
  absorb(run: string, calls: readonly CallRecord[], offset: number): void {
    for (const call of calls) this.add(call);
    const mark = (this.data.files[run] ??= { offset: 0 });
    mark.offset = offset;
    this.dirty = true;
  }

  close(run: string): void {
    const mark = (this.data.files[run] ??= { offset: 0 });
    if (mark.closed) return;
    mark.closed = true;
    this.dirty = true;
  }

  markCompacted(run: string): void {
    const mark = (this.data.files[run] ??= { offset: 0 });
    mark.closed = true;
    mark.compacted = true;
    this.dirty = true;
  }

  /** One run's totals (every day of it); undefined when the run made no call. */
  runTotals(run: string): Totals | undefined {
    let sum: Totals | undefined;
    for (const r of this.data.runs) {
      if (r.run !== run) continue;
      sum ??= emptyTotalsOf();
      addTotals(sum, r.totals);
    }
    return sum;
  }

  private add(call: CallRecord): void {
    this.index();
    const day = dayOf(call.time);
    const key = cellKey(day, call.provider, call.model, call.step);
    let cell = this.cellAt.get(key);
    if (!cell) {
      cell = {
        day,
        provider: call.provider,
        model: call.model,
        step: call.step,
        first: call.time,
        totals: emptyTotalsOf(),
      };
      this.cellAt.set(key, cell);
      this.data.cells.push(cell);
    }
    // Files can be absorbed in any order (migration, reconciling): keep the earliest time seen.
    if (call.time < cell.first) cell.first = call.time;
    addCall(cell.totals, call);

    const runKey = `${call.run}\u0000${day}`;
    let run = this.runAt.get(runKey);
    if (!run) {
      run = { run: call.run, day, first: call.time, totals: emptyTotalsOf() };
      this.runAt.set(runKey, run);
      this.data.runs.push(run);
    }
    if (call.time < run.first) run.first = call.time;
    addCall(run.totals, call);

    const hourKey = call.time.slice(0, 13);
    let hour = this.hourAt.get(hourKey);
    if (!hour) {
      hour = { hour: hourKey, totals: emptyTotalsOf() };
      this.hourAt.set(hourKey, hour);
      this.data.hours.push(hour);
      this.pruneHours(hourKey);
    }
    addCall(hour.totals, call);
  }

  /** Hours older than HOURS_KEPT_DAYS before the newest are dropped (the days keep their spend). */
  private pruneHours(newest: string): void {
    const latest = this.data.hours.reduce((max, h) => (h.hour > max ? h.hour : max), newest);
    const cutoff = new Date(Date.parse(`${latest}:00:00Z`) - HOURS_KEPT_DAYS * 86_400_000)
      .toISOString()
      .slice(0, 13);
    if (this.data.hours.every((h) => h.hour >= cutoff)) return;
    this.data.hours = this.data.hours.filter((h) => h.hour >= cutoff);
    this.hourAt.clear();
    for (const h of this.data.hours) this.hourAt.set(h.hour, h);
  }
}

function cellKey(day: string, provider: string, model: string, step: string): string {
  return `${day}\u0000${provider}\u0000${model}\u0000${step}`;
}
