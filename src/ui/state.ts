/**
 * The supervisor screen's state and the pure functions that change it. No React here: the store
 * (store.ts) owns an instance, components read it through selectors.
 */
import type { LoopInfo } from '../core/control.js';
import type { EventOf, LoopEvent, Outcome, StallAction } from '../core/events.js';
import { totalTokens } from '../core/events.js';
import { traceLines } from './trace-lines.js';

export type LoopStatus = 'idle' | 'running' | 'paused' | 'stopping' | Outcome;

export interface TraceLine {
  seq: number;
  run: string;
  iteration: number;
  kind: 'model' | 'tool' | 'result' | 'grader' | 'run' | 'human' | 'error' | 'metric' | 'cache' | 'trigger';
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
  /** Caps of the current run, absent when uncapped. */
  maxUsd?: number;
  maxTokens?: number;
  maxMinutes?: number;
  /** Event times (ms) of the run's first and latest events: the minutes bar needs no clock. */
  startedAt?: number;
  lastAt?: number;
  lastReason?: string;
  branch?: string;
  /** What the run started from: the ref as written, and the branch it named (for `m`). */
  base?: string;
  baseBranch?: string;
  baseSha?: string;
  worktree?: string;
  /** Which cap ended the run, when it ended on budget. */
  budgetCap?: string;
  /** Tool calls of this loop waiting for a person, oldest first. */
  approvals: PendingApproval[];
  /** The stall verdict in force, until cleared or the run ends. */
  stall?: { reason: string; action: StallAction };
  trace: TraceLine[];
  /**
   * The last applied seq of each recent run (insertion order, newest last). A replayed event is
   * recognised by it and changes nothing, so a trace file can be fed in twice.
   */
  appliedSeq: Readonly<Record<string, number>>;
}

export type PendingApproval = Omit<EventOf<'approval.requested'>, 'type' | 'seq' | 'span' | 'parentSpan'>;

export interface QueuedStart {
  loop: string;
  trigger: string;
  since: string;
}

/** A pane's own part of the state: built from the loops at start, then from each batch of events. */
export interface Slice<S> {
  init(infos: readonly LoopInfo[]): S;
  /** Must return the same object when the batch changes nothing it shows. */
  reduce(state: S, events: readonly LoopEvent[]): S;
}

export interface SliceEntry {
  id: string;
  // The registry holds slices of different types; each pane reads back only its own (usePaneSlice).
  slice: Slice<unknown>;
}

/** The fleet's caps as the header shows them: waiting holds every new run and call back. */
export interface FleetLine {
  state: 'waiting' | 'warning';
  cap: string;
  reason: string;
}

export interface UiState {
  loops: LoopView[];
  /** Set while the fleet holds runs back (waiting) or after it warned, until it releases. */
  fleet?: FleetLine;
  /** The engine is still opening (the first frame came before it): the loops are not known yet. */
  opening?: boolean;
  /** The latest notice from the engine ("reloaded fix-tests"); `seq` counts them. */
  notice?: { text: string; seq: number };
  selected: number;
  version: number;
  /** Starts waiting behind the limit on runs at once, from the supervisor's queue.changed. */
  queue: readonly QueuedStart[];
  /** Each registered pane's slice, by pane id. */
  slices: Readonly<Record<string, unknown>>;
}

export const DEFAULT_TRACE_LIMIT = 200;

/** Runs remembered per loop for replay detection; older ones are forgotten. */
const REMEMBERED_RUNS = 16;

/** A status that still has a run in flight: quitting waits for these. */
export function isActive(status: LoopStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'stopping';
}

export function initialState(
  infos: readonly LoopInfo[],
  slices: readonly SliceEntry[] = [],
  opening = false,
): UiState {
  return {
    ...(opening ? { opening } : {}),
    loops: infos.map((info) => emptyView(info)),
    selected: 0,
    version: 0,
    queue: [],
    slices: Object.fromEntries(slices.map((entry) => [entry.id, entry.slice.init(infos)])),
  };
}

/**
 * Runs every pane slice over the batch. A slice that returns its old object keeps it, and when none
 * changed the state itself is returned, so nothing re-renders.
 */
export function reduceSlices(
  state: UiState,
  events: readonly LoopEvent[],
  slices: readonly SliceEntry[],
): UiState {
  let next: Record<string, unknown> | undefined;
  for (const entry of slices) {
    const before = state.slices[entry.id];
    const after = entry.slice.reduce(before, events);
    if (after === before) continue;
    next ??= { ...state.slices };
    next[entry.id] = after;
  }
  if (next === undefined) return state;
  return { ...state, slices: next, version: state.version + 1 };
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
    approvals: [],
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
  let queue = state.queue;
  let fleet = state.fleet;
  let notice = state.notice;
  let opened = false;
  for (const event of events) {
    // Supervisor, trigger, fleet and hill-climb streams are not runs of a loop: they never make
    // a row, but a trigger's events show in its loop's trace and update what its row says.
    if (event.source !== undefined && event.source !== 'run') {
      if (event.type === 'queue.changed') queue = event.queue;
      else if (event.type === 'fleet.status') fleet = fleetLine(event);
      else if (event.type === 'loops.changed') {
        notice = reloadNotice(event, notice);
        opened = true;
      } else if (event.source === 'trigger') {
        indexByName ??= new Map(state.loops.map((view, i) => [view.info.name, i]));
        const index = indexByName.get(event.loop);
        const view = index === undefined ? undefined : (loops ?? state.loops)[index];
        if (view === undefined || index === undefined) continue;
        const next = applyTriggerEvent(view, event, traceLimit);
        if (next === view) continue;
        loops ??= [...state.loops];
        loops[index] = next;
      }
      continue;
    }
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
  const stillOpening = state.opening === true && !opened;
  if (
    loops === undefined &&
    queue === state.queue &&
    fleet === state.fleet &&
    notice === state.notice &&
    stillOpening === (state.opening === true)
  )
    return state;
  const next: UiState = { ...state, loops: loops ?? state.loops, queue, version: state.version + 1 };
  if (!stillOpening) delete next.opening;
  if (fleet === undefined) delete next.fleet;
  else next.fleet = fleet;
  if (notice !== undefined) next.notice = notice;
  return next;
}

function fleetLine(event: EventOf<'fleet.status'>): FleetLine | undefined {
  if (event.state === 'released') return undefined;
  return { state: event.state, cap: event.cap, reason: event.reason };
}

function reloadNotice(event: EventOf<'loops.changed'>, previous: UiState['notice']): UiState['notice'] {
  const parts = [
    event.changed.length > 0 ? `reloaded ${event.changed.join(', ')}` : '',
    event.added.length > 0 ? `added ${event.added.join(', ')}` : '',
    event.removed.length > 0 ? `removed ${event.removed.join(', ')}` : '',
  ].filter((part) => part !== '');
  if (parts.length === 0) return previous;
  return { text: parts.join(' · '), seq: (previous?.seq ?? 0) + 1 };
}

/**
 * A trigger's events for one loop: what fired (and what came of it) and triage decisions go in the
 * trace; the next due time and the goal's progress go in the row. A replay changes nothing.
 */
function applyTriggerEvent(view: LoopView, event: LoopEvent, traceLimit: number): LoopView {
  const key = `${event.source ?? 'run'}:${event.run}`;
  const lastSeq = view.appliedSeq[key];
  if (lastSeq !== undefined && event.seq <= lastSeq) return view;
  const appliedSeq = recordSeq(view.appliedSeq, key, event.seq);
  switch (event.type) {
    case 'schedule.next': {
      const { nextDue: _old, ...info } = view.info;
      return {
        ...view,
        info: event.nextDue === null ? info : { ...info, nextDue: event.nextDue },
        appliedSeq,
      };
    }
    case 'goal.progress':
      return { ...view, info: { ...view.info, goal: event.progress }, appliedSeq };
    case 'trigger.fired':
    case 'triage.decided': {
      const lines = traceLines(event);
      if (lines.length === 0) return view;
      return { ...view, trace: appendTrace(view.trace, lines, traceLimit), appliedSeq };
    }
    default:
      return view;
  }
}

/**
 * The loops as the engine lists them now (after a reload, or when a job's info changed: a fleet
 * cap holding starts, a goal's progress): new loops get a row, a removed one keeps its row only
 * while a run of it is in flight, and a row whose info did not change keeps its object.
 */
export function refreshInfos(state: UiState, infos: readonly LoopInfo[]): UiState {
  const byName = new Map(state.loops.map((view) => [view.info.name, view]));
  const listed = new Set(infos.map((info) => info.name));
  let changed = false;
  const loops: LoopView[] = infos.map((info) => {
    const view = byName.get(info.name);
    if (view === undefined) {
      changed = true;
      return emptyView(info);
    }
    if (sameInfo(view.info, info)) return view;
    changed = true;
    return { ...view, info };
  });
  for (const view of state.loops) {
    if (listed.has(view.info.name)) continue;
    if (isActive(view.status)) loops.push(view);
    else changed = true;
  }
  if (!changed) return state;
  const selectedName = state.loops[state.selected]?.info.name;
  const selected = Math.max(
    0,
    loops.findIndex((view) => view.info.name === selectedName),
  );
  return { ...state, loops, selected, version: state.version + 1 };
}

function sameInfo(a: LoopInfo, b: LoopInfo): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
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
  const next = applyStatus(touch(base, event), event);
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
    approvals: [],
    startedAt: eventTime(event),
    lastAt: eventTime(event),
    trace: view.trace,
    appliedSeq: view.appliedSeq,
  };
}

function eventTime(event: LoopEvent): number | undefined {
  const ms = Date.parse(event.time);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Keeps lastAt current: the minutes bar reads it. Only when the minute shown would change. */
function touch(view: LoopView, event: LoopEvent): LoopView {
  const at = eventTime(event);
  if (at === undefined || view.lastAt === undefined || at <= view.lastAt) return view;
  if (Math.floor(at / 60_000) === Math.floor(view.lastAt / 60_000)) return view;
  return { ...view, lastAt: at };
}

function applyStatus(view: LoopView, event: LoopEvent): LoopView {
  switch (event.type) {
    case 'run.started':
      return {
        ...view,
        status: 'running',
        branch: event.branch,
        base: event.base,
        baseBranch: event.baseBranch,
        baseSha: event.baseSha,
        worktree: event.worktree,
        maxIterations: event.budget.iterations ?? undefined,
        maxToolCalls: event.budget.tool_calls ?? undefined,
        maxUsd: event.budget.usd ?? undefined,
        maxTokens: event.budget.tokens ?? undefined,
        maxMinutes: event.budget.minutes ?? undefined,
        lastReason: undefined,
        budgetCap: undefined,
        stall: undefined,
      };
    case 'approval.requested': {
      if (view.approvals.some((a) => a.approvalId === event.approvalId)) return view;
      const { type: _type, seq: _seq, span: _span, parentSpan: _parent, ...pending } = event;
      return { ...view, approvals: [...view.approvals, pending] };
    }
    case 'approval.resolved': {
      const approvals = view.approvals.filter((a) => a.approvalId !== event.approvalId);
      return approvals.length === view.approvals.length ? view : { ...view, approvals };
    }
    case 'stall.detected':
      return { ...view, stall: { reason: event.reason, action: event.action } };
    case 'stall.cleared':
      return view.stall === undefined ? view : { ...view, stall: undefined };
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
        usd: event.spend.usd,
        unpriced: event.spend.unpricedCalls > 0,
        branch: event.branch,
        worktree: event.worktree,
        budgetCap: event.budget?.cap,
        approvals: [],
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
