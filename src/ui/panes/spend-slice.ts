/**
 * The spend pane's state, from the session's events: every model.response (tokens and its price)
 * and every run.ended (verified runs). The time axis is the events' own clock (the newest event is
 * "now"), so the pane needs no timer and an idle screen draws no frames.
 */
import type { LoopEvent } from '../../core/events.js';
import type { Slice } from '../state.js';

export interface SpendTotals {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  usd: number;
  calls: number;
  /** Calls whose model is not in the price table: their dollars are unknown, never $0. */
  unpricedCalls: number;
}

export interface SpendState {
  total: SpendTotals;
  byLoop: Readonly<Record<string, SpendTotals>>;
  byModel: Readonly<Record<string, SpendTotals>>;
  /** Dollars per minute (key: minute since the epoch), kept for the chart's span. */
  perMinute: Readonly<Record<number, number>>;
  /** The newest event's time, in minutes since the epoch. */
  nowMinute: number;
  verifiedRuns: number;
  endedRuns: number;
  /** The last seq counted per run: a replayed event is not counted twice. */
  seen: Readonly<Record<string, number>>;
}

export const CHART_BUCKET_MINUTES = 15;
export const CHART_BUCKETS = 16;
// Twelve hours of minutes: the hourly chart adds the session's calls to the ledger's hours.
const KEPT_MINUTES = 12 * 60;

export function emptyTotals(): SpendTotals {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, usd: 0, calls: 0, unpricedCalls: 0 };
}

function add(t: SpendTotals | undefined, event: Extract<LoopEvent, { type: 'model.response' }>): SpendTotals {
  const base = t ?? emptyTotals();
  return {
    input: base.input + event.usage.input,
    output: base.output + event.usage.output,
    cacheRead: base.cacheRead + event.usage.cacheRead,
    cacheWrite: base.cacheWrite + event.usage.cacheWrite,
    usd: base.usd + (typeof event.usd === 'number' ? event.usd : 0),
    calls: base.calls + 1,
    unpricedCalls: base.unpricedCalls + (event.usd === null ? 1 : 0),
  };
}

export const spendSlice: Slice<SpendState> = {
  init: () => ({
    total: emptyTotals(),
    byLoop: {},
    byModel: {},
    perMinute: {},
    nowMinute: 0,
    verifiedRuns: 0,
    endedRuns: 0,
    seen: {},
  }),
  reduce(state, events) {
    let next: SpendState | undefined;
    for (const event of events) {
      if (event.type !== 'model.response' && event.type !== 'run.ended') continue;
      const current = next ?? state;
      const last = current.seen[event.run];
      if (last !== undefined && event.seq <= last) continue;
      const seen = { ...current.seen, [event.run]: event.seq };
      if (event.type === 'run.ended') {
        next = {
          ...current,
          seen,
          endedRuns: current.endedRuns + 1,
          verifiedRuns: current.verifiedRuns + (event.outcome === 'verified' ? 1 : 0),
        };
        continue;
      }
      const ms = Date.parse(event.time);
      const minute = Number.isNaN(ms) ? current.nowMinute : Math.floor(ms / 60_000);
      const nowMinute = Math.max(current.nowMinute, minute);
      const perMinute: Record<number, number> = {};
      for (const [key, usd] of Object.entries(current.perMinute)) {
        if (Number(key) > nowMinute - KEPT_MINUTES) perMinute[Number(key)] = usd;
      }
      if (typeof event.usd === 'number' && minute > nowMinute - KEPT_MINUTES) {
        perMinute[minute] = (perMinute[minute] ?? 0) + event.usd;
      }
      const model = `${event.provider}/${event.model}`;
      next = {
        ...current,
        seen,
        total: add(current.total, event),
        byLoop: { ...current.byLoop, [event.loop]: add(current.byLoop[event.loop], event) },
        byModel: { ...current.byModel, [model]: add(current.byModel[model], event) },
        perMinute,
        nowMinute,
      };
    }
    return next ?? state;
  },
};

/** Dollars in the last `minutes` up to the newest event. */
export function spentInLast(state: SpendState, minutes: number): number {
  let sum = 0;
  for (const [key, usd] of Object.entries(state.perMinute)) {
    if (Number(key) > state.nowMinute - minutes) sum += usd;
  }
  return sum;
}

/** Dollars per chart bucket, oldest first, ending with the newest event's bucket. */
export function chartBuckets(state: SpendState): number[] {
  const buckets = new Array<number>(CHART_BUCKETS).fill(0);
  const lastBucket = Math.floor(state.nowMinute / CHART_BUCKET_MINUTES);
  for (const [key, usd] of Object.entries(state.perMinute)) {
    const index = CHART_BUCKETS - 1 - (lastBucket - Math.floor(Number(key) / CHART_BUCKET_MINUTES));
    if (index >= 0 && index < CHART_BUCKETS) buckets[index] = (buckets[index] ?? 0) + usd;
  }
  return buckets;
}

/** The share of input tokens served from the cache: reads over everything sent. */
export function cacheHitRate(t: SpendTotals): number | undefined {
  const sent = t.input + t.cacheRead + t.cacheWrite;
  return sent === 0 ? undefined : t.cacheRead / sent;
}

const SPARKS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => (max === 0 || v === 0 ? ' ' : (SPARKS[Math.min(7, Math.floor((v / max) * 7.999))] ?? ' ')))
    .join('');
}
