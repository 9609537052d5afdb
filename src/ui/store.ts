/**
 * The external store the supervisor screen reads. It subscribes to the engine through the
 * SupervisorPort, buffers events and commits them at most once per flush interval: Ink lays out
 * the whole tree on every React commit, so a commit per token would cost CPU for frames nobody sees.
 */
import type { SupervisorPort } from '../core/control.js';
import type { LoopEvent } from '../core/events.js';
import {
  DEFAULT_TRACE_LIMIT,
  initialState,
  markStopping,
  reduce,
  reduceSlices,
  refreshInfos,
  selectLoop,
  type SliceEntry,
  type UiState,
} from './state.js';

export type { LoopStatus, LoopView, Slice, TraceLine, UiState } from './state.js';
export { reduce } from './state.js';

export interface UiStore {
  getState(): UiState;
  subscribe(onChange: () => void): () => void;
  select(index: number): void;
  /** Shows `stopping` for a loop right after the UI sends it a stop, before the engine answers. */
  markStopping(loop: string): void;
  dispose(): void;
}

export interface StoreOptions {
  /** Events are committed at most once per this many ms (default 100, so ≤ 10 commits a second). */
  flushMs?: number;
  /** Trace lines kept per loop (default 200). */
  traceLimit?: number;
  /** The engine is still opening: the screen says so until the port's first loops.changed. */
  opening?: boolean;
  /** The registered panes' slices, reduced alongside the loops. */
  slices?: readonly SliceEntry[];
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export const DEFAULT_FLUSH_MS = 100;

/** Events after which the loops' info is read again from the port (LoopInfo.waiting, new loops...). */
const REFRESHING = new Set<string>(['loops.changed', 'fleet.status', 'queue.changed', 'run.ended']);

const defaultSetTimer = (fn: () => void, ms: number): unknown => setTimeout(fn, ms);
const defaultClearTimer = (timer: unknown): void => {
  clearTimeout(timer as ReturnType<typeof setTimeout>);
};

export function createStore(port: SupervisorPort, opts: StoreOptions = {}): UiStore {
  const flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
  const traceLimit = opts.traceLimit ?? DEFAULT_TRACE_LIMIT;
  const setTimer = opts.setTimer ?? defaultSetTimer;
  const clearTimer = opts.clearTimer ?? defaultClearTimer;

  const slices = opts.slices ?? [];
  let state = initialState(port.loops(), slices, opts.opening ?? false);
  const reduceAll = (current: UiState, events: readonly LoopEvent[]): UiState => {
    if (events.length === 0) return current;
    const reduced = reduceSlices(reduce(current, events, traceLimit), events, slices);
    // What the engine says of each loop (its rows' info) changes with a reload or a job's state.
    return events.some((event) => REFRESHING.has(event.type)) ? refreshInfos(reduced, port.loops()) : reduced;
  };
  let pending: LoopEvent[] = [];
  let timer: { handle: unknown } | undefined;
  let disposed = false;
  const listeners = new Set<() => void>();

  const commit = (next: UiState): void => {
    if (next === state) return;
    state = next;
    for (const listener of [...listeners]) listener();
  };

  const flush = (): void => {
    timer = undefined;
    const events = pending;
    pending = [];
    if (events.length > 0) commit(reduceAll(state, events));
  };

  const unsubscribe = port.subscribe((event) => {
    if (disposed) return;
    pending.push(event);
    timer ??= { handle: setTimer(flush, flushMs) };
  });

  return {
    getState: () => state,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => {
        listeners.delete(onChange);
      };
    },
    // A person's key press is shown at once, not at the next flush.
    select(index) {
      commit(selectLoop(state, index));
    },
    markStopping(loop) {
      // Apply what is buffered first, so a run.started still in the buffer cannot undo the mark.
      if (timer !== undefined) clearTimer(timer.handle);
      const events = pending;
      pending = [];
      timer = undefined;
      commit(markStopping(reduceAll(state, events), loop));
    },
    dispose() {
      disposed = true;
      unsubscribe();
      if (timer !== undefined) clearTimer(timer.handle);
      timer = undefined;
      pending = [];
      listeners.clear();
    },
  };
}
