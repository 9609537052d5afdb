/** The stalls pane's state: per loop, each iteration's progress signals and the verdict in force. */
import type { LoopEvent, ProgressSignals, StallAction } from '../../core/events.js';
import type { Slice } from '../state.js';

export interface StallRow {
  run: string;
  iteration: number;
  progress: boolean;
  signals: ProgressSignals;
  quiet: number;
  window: number;
}

export interface StallVerdict {
  run: string;
  iteration: number;
  state: 'stalled' | 'cleared';
  reason: string;
  action?: StallAction;
}

export interface LoopStalls {
  rows: readonly StallRow[];
  verdict?: StallVerdict;
}

export type StallsState = Readonly<Record<string, LoopStalls>>;

const KEPT_ROWS = 50;

export const stallsSlice: Slice<StallsState> = {
  init: () => ({}),
  reduce(state, events) {
    let next: Record<string, LoopStalls> | undefined;
    for (const event of events) {
      if (event.type !== 'stall.signals' && event.type !== 'stall.detected' && event.type !== 'stall.cleared')
        continue;
      next ??= { ...state };
      const current = next[event.loop] ?? { rows: [] };
      next[event.loop] = apply(current, event);
    }
    return next ?? state;
  },
};

function apply(current: LoopStalls, event: LoopEvent): LoopStalls {
  switch (event.type) {
    case 'stall.signals': {
      const row: StallRow = {
        run: event.run,
        iteration: event.iteration,
        progress: event.progress,
        signals: event.signals,
        quiet: event.quiet,
        window: event.window,
      };
      // Keyed by run and iteration: a replayed event replaces its row instead of adding one.
      const rows = current.rows.filter((r) => !(r.run === row.run && r.iteration === row.iteration));
      rows.push(row);
      return { ...current, rows: rows.slice(-KEPT_ROWS) };
    }
    case 'stall.detected':
      return {
        ...current,
        verdict: {
          run: event.run,
          iteration: event.iteration,
          state: 'stalled',
          reason: event.reason,
          action: event.action,
        },
      };
    case 'stall.cleared':
      return {
        ...current,
        verdict: { run: event.run, iteration: event.iteration, state: 'cleared', reason: event.reason },
      };
    default:
      return current;
  }
}

/** The signals of one iteration in words a person scans: what moved, what repeated. */
export function describeSignals(s: ProgressSignals): string {
  const parts: string[] = [];
  parts.push(s.newDiff ? 'new diff' : s.returnedToEarlierDiff ? 'diff seen before' : 'diff unchanged');
  if (s.testsMoved) parts.push('tests moved');
  if (s.scoresMoved) parts.push('scores moved');
  if (s.metricBestMoved) parts.push('metric best moved');
  if (s.newErrors > 0) parts.push(`${s.newErrors} new error${s.newErrors === 1 ? '' : 's'}`);
  if (s.repeatedErrors > 0)
    parts.push(`${s.repeatedErrors} repeated error${s.repeatedErrors === 1 ? '' : 's'}`);
  if (s.repeatedToolCalls) parts.push('same tool calls');
  if (s.cycle) parts.push('cycling');
  return parts.join(' · ');
}
