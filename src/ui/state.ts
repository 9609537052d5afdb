/**
 * The supervisor screen's state and the pure functions that change it. No React here: the store
 * (store.ts) owns an instance, components read it through selectors.
 */
import type { LoopInfo } from '../core/control.js';
import type { LoopEvent, Outcome } from '../core/events.js';
import { totalTokens } from '../core/events.js';
import { traceLines } from './trace-lines.js';

export type LoopStatus = 'idle' | 'running' | 'paused' | 'stopping' | Outcome;

export interface TraceLine {
  seq: number;
  run: string;
  iteration: number;
  kind: 'model' | 'tool' | 'result' | 'grader' | 'run' | 'human' | 'error';
  text: string;
  ok?: boolean;
}

export interface LoopView {
  info: LoopInfo;
  status: LoopStatus;
  run?: string;
  iteration: number;
  maxIterations?: number;
  toolCalls: number;
  maxToolCalls?: number;
  tokens: number;
  /** Dollars of the priced calls of the current run. */
  usd: number;
  /** Some call of the current run could not be priced: the dollars are a lower bound. */
  unpriced: boolean;
  lastReason?: string;
  branch?: string;
  trace: TraceLine[];
  /**
   * The last applied seq of each recent run (insertion order, newest last). A replayed event is
   * recognised by it and changes nothing, so a trace file can be fed in twice.
   */
  appliedSeq: Readonly<Record<string, number>>;
}

export interface UiState {
  loops: LoopView[];
  selected: number;
  version: number;
}

export const DEFAULT_TRACE_LIMIT = 200;

/** Runs remembered per loop for replay detection; older ones are forgotten. */
const REMEMBERED_RUNS = 16;

/** A status that still has a run in flight: quitting waits for these. */
export function isActive(status: LoopStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'stopping';
}

export function initialState(infos: readonly LoopInfo[]): UiState {
  return { loops: infos.map((info) => emptyView(info)), selected: 0, version: 0 };
}

function emptyView(info: LoopInfo): LoopView {
  return {
    info,
    status: info.lastOutcome ?? 'idle',
    iteration: 0,
    toolCalls: 0,
    tokens: 0,
    usd: 0,
    unpriced: false,
    trace: [],
    appliedSeq: {},
  };
}

/**
 * Applies a batch of events. Returns the same object when nothing visible changed, and keeps the
 * same LoopView object for every loop the batch did not touch, so selectors skip those rows.
 */
export function reduce(
  state: UiState,
  events: readonly LoopEvent[],
  traceLimit: number = DEFAULT_TRACE_LIMIT,
): UiState {
  let loops: LoopView[] | undefined;
  let indexByName: Map<string, number> | undefined;
  for (const event of events) {
    indexByName ??= new Map(state.loops.map((view, i) => [view.info.name, i]));
    const current = loops ?? state.loops;
    const index = indexByName.get(event.loop);
    const view = (index === undefined ? undefined : current[index]) ?? unlistedView(event.loop);
    const next = applyEvent(view, event, traceLimit);
    if (next === view) continue;
    loops ??= [...state.loops];
    if (index === undefined) {
      indexByName.set(event.loop, loops.length);
      loops.push(next);
    } else {
      loops[index] = next;
    }
  }
  if (loops === undefined) return state;
  return { loops, selected: state.selected, version: state.version + 1 };
}

/** A loop that loops() did not list (added after start-up) still gets a row once it emits. */
function unlistedView(name: string): LoopView {
  return emptyView({ name, description: '', provider: '', model: '', trigger: '' });
}

function applyEvent(view: LoopView, event: LoopEvent, traceLimit: number): LoopView {
  const lastSeq = view.appliedSeq[event.run];
  if (lastSeq !== undefined && event.seq <= lastSeq) return view;
  const lines = traceLines(event);

  if (lastSeq !== undefined && event.run !== view.run) {
    // A late event of an older run: its trace belongs to this loop, its status does not.
    if (lines.length === 0) return view;
    return {
      ...view,
      trace: appendTrace(view.trace, lines, traceLimit),
      appliedSeq: recordSeq(view.appliedSeq, event.run, event.seq),
    };
  }

  const base = lastSeq === undefined ? beginRun(view, event) : view;
  const next = applyStatus(base, event);
  const trace = lines.length === 0 ? next.trace : appendTrace(next.trace, lines, traceLimit);
  if (next === view && trace === view.trace) return view;
  return { ...next, trace, appliedSeq: recordSeq(view.appliedSeq, event.run, event.seq) };
}

/** The first event of a run we have not seen: usually run.started, or any event when we join late. */
function beginRun(view: LoopView, event: LoopEvent): LoopView {
  return {
    info: view.info,
    status: 'running',
    run: event.run,
    iteration: event.iteration,
    toolCalls: 0,
    tokens: 0,
    usd: 0,
    unpriced: false,
    trace: view.trace,
    appliedSeq: view.appliedSeq,
  };
}

function applyStatus(view: LoopView, event: LoopEvent): LoopView {
  switch (event.type) {
    case 'run.started':
      return {
        ...view,
        status: 'running',
        branch: event.branch,
        maxIterations: event.budget.iterations ?? undefined,
        maxToolCalls: event.budget.tool_calls ?? undefined,
        lastReason: undefined,
      };
    case 'iteration.started':
      return event.iteration === view.iteration ? view : { ...view, iteration: event.iteration };
    case 'tool.call':
      return { ...view, toolCalls: view.toolCalls + 1 };
    case 'model.response': {
      const tokens = totalTokens(event.usage);
      const priced = typeof event.usd === 'number' && event.usd > 0;
      const unpriced = event.usd === null && !view.unpriced;
      if (tokens === 0 && !priced && !unpriced) return view;
      return {
        ...view,
        tokens: view.tokens + tokens,
        usd: priced ? view.usd + (event.usd ?? 0) : view.usd,
        unpriced: view.unpriced || event.usd === null,
      };
    }
    case 'run.paused':
      // A stop asked for by a person wins over a pause reached on the way to it.
      return view.status === 'running' ? { ...view, status: 'paused' } : view;
    case 'run.resumed':
      return view.status === 'paused' ? { ...view, status: 'running' } : view;
    case 'run.ended':
      return {
        ...view,
        status: event.outcome,
        lastReason: event.reason,
        iteration: event.iterations,
        toolCalls: event.toolCalls,
        tokens: totalTokens(event.usage),
        branch: event.branch,
      };
    default:
      return view;
  }
}

function appendTrace(trace: TraceLine[], lines: TraceLine[], limit: number): TraceLine[] {
  const all = [...trace, ...lines];
  return all.length > limit ? all.slice(all.length - limit) : all;
}

function recordSeq(
  applied: Readonly<Record<string, number>>,
  run: string,
  seq: number,
): Readonly<Record<string, number>> {
  const next: Record<string, number> = { ...applied, [run]: seq };
  const runs = Object.keys(next);
  for (const old of runs.slice(0, Math.max(0, runs.length - REMEMBERED_RUNS))) delete next[old];
  return next;
}

/** Moves the selection, clamped to the list; the same object when it would not move. */
export function selectLoop(state: UiState, index: number): UiState {
  const clamped = Math.max(0, Math.min(index, state.loops.length - 1));
  if (clamped === state.selected) return state;
  return { ...state, selected: clamped, version: state.version + 1 };
}

/**
 * Shows a stop the UI has just sent before the engine acknowledges it. Only a loop with a run in
 * flight can be stopping; the run's own run.ended replaces it with the outcome.
 */
export function markStopping(state: UiState, loop: string): UiState {
  const index = state.loops.findIndex((view) => view.info.name === loop);
  const view = state.loops[index];
  if (view === undefined || (view.status !== 'running' && view.status !== 'paused')) return state;
  const loops = [...state.loops];
  loops[index] = { ...view, status: 'stopping' };
  return { ...state, loops, version: state.version + 1 };
}
