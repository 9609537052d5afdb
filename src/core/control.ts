/**
 * Commands flow back from a person (or a trigger, or another process) to the engine through this one
 * typed entry point. Every command has an id and gets a reply, so a refusal is shown, never dropped.
 */
import type { EventListener, Outcome, StallAction } from './events.js';
import type { TriggerContext } from './trigger-context.js';

/** Addresses one loop, or one run of it when `run` is given. */
export interface Target {
  loop: string;
  run?: string;
}

export type CommandBody =
  | ({
      type: 'start';
      /** A short label for lists ("manual", "cron", "goal 2/10"); default: the context's kind, else manual. */
      trigger?: string;
      /** What started it: recorded in the trace and index (replayable), and shown to the agent. */
      context?: TriggerContext;
      /**
       * When the loop is already at its own concurrency: `refuse` (a person's start, the default),
       * `queue` (one start waits behind the run; a second is dropped) or `drop` (the event is
       * dropped and recorded). Triggers pass their loop's `trigger.overlap`.
       */
      overlap?: 'refuse' | 'queue' | 'drop';
    } & Target)
  | ({ type: 'stop'; reason?: string } & Target)
  | ({ type: 'pause' } & Target)
  | ({ type: 'resume' } & Target)
  /** `now: false` queues it for the next iteration (`:`), `now: true` interrupts (`!`). */
  | ({ type: 'instruct'; text: string; now: boolean } & Target)
  /** Answers one pending approval; bound to its id, so a late key cannot answer a different call. */
  | ({ type: 'approve'; approvalId: string } & Target)
  | ({ type: 'deny'; approvalId: string; reason: string } & Target);

export type CommandType = CommandBody['type'];

/** A command as sent; the supervisor gives it an id when the sender did not. */
export type Command = CommandBody & { id?: string };

export interface CommandReply {
  id: string;
  type: CommandType;
  loop: string;
  ok: boolean;
  /**
   * started: a run began (`run` is its id); queued: it waits behind the limit on runs at once;
   * done: the command took effect; refused: nothing happened, `reason` says why.
   */
  status: 'started' | 'queued' | 'done' | 'refused';
  reason: string;
  run?: string;
}

export interface LoopInfo {
  name: string;
  description: string;
  provider: string;
  model: string;
  /** A short description of what starts it: "manual", "cron 0 7 * * 1-5", ... */
  trigger: string;
  /** The definition problem, when LOOP.md is invalid: the loop is listed but cannot start. */
  problem?: string;
  lastOutcome?: Outcome;
  /** cron: the next time it is due (ISO), when a schedule is active. */
  nextDue?: string;
  /** goal: how far the goal has got across its runs. */
  goal?: GoalProgress;
  /** Why its starts wait now, when something above the run holds them (the fleet's daily cap, say). */
  waiting?: string;
}

export interface GoalProgress {
  /** active: restarting until verified; met: a run verified; spent: its budget ran out (it can be given more). */
  state: 'active' | 'met' | 'spent' | 'ended';
  runs: number;
  maxRuns: number;
  usd: number;
  maxUsd: number | null;
  /** ISO time of the goal's first run. */
  since: string;
  /** ISO time the next run starts (a back-off), when one is waiting. */
  nextAt?: string;
  reason: string;
}

export interface SupervisorPort {
  loops(): LoopInfo[];
  /**
   * Every command is answered at once: started, queued, done or refused (with the reason); the
   * answer is also emitted as a `command.replied` supervisor event, for screens attached elsewhere.
   */
  send(command: Command): CommandReply;
  subscribe(listener: EventListener): () => void;
  /** Everything a screen attaching now needs to be right without having seen earlier events. */
  snapshot?(): SupervisorSnapshot;
  /**
   * Set when this port is a connection to a supervisor in another process (the daemon, or a screen
   * that owns the state folder): quitting a screen fed by it leaves that process's runs running.
   */
  readonly remote?: { pid: number; owner: 'screen' | 'daemon' | 'run' };
}

/** A tool call waiting for a person's approval. */
export interface PendingApproval {
  approvalId: string;
  loop: string;
  run: string;
  iteration: number;
  callId: string;
  tool: string;
  input: unknown;
  /** The rule that matched, as written in LOOP.md, and the part of the call it matched. */
  rule: string;
  matched: string;
  /** ISO time it was asked. */
  since: string;
  /** How long it waits before it is denied; null when it waits until answered or stopped. */
  timeoutMs: number | null;
}

/** A start waiting behind the limit on runs at once. */
export interface QueuedStart {
  /** The id of the start command, whose `command.replied` says `started` once it runs. */
  id: string;
  loop: string;
  trigger: string;
  since: string;
  context?: TriggerContext;
}

export interface RunSnapshot {
  loop: string;
  run: string;
  trigger: string;
  startedAt: string;
  iteration: number;
  /** waiting: a tool call waits for approval; paused: by a person or a stall. */
  status: 'running' | 'paused' | 'waiting';
  /** Set while the stall detector holds the run stalled. */
  stalled?: { reason: string; action: StallAction };
}

/** Why a loop needs a person now, with what to show; one per loop, the most urgent first. */
export interface NeedsPerson {
  loop: string;
  run?: string;
  reason: 'approval' | 'stalled' | 'paused' | 'budget' | 'failed';
  detail: string;
}

export interface SupervisorSnapshot {
  loops: LoopInfo[];
  /** The loops that need a person, and why (a screen marks them and rings once per new reason). */
  needs: NeedsPerson[];
  runs: RunSnapshot[];
  approvals: PendingApproval[];
  queue: QueuedStart[];
  /** Instructions kept for loops with no run in flight (they reach the next run). */
  pendingInstructions: Array<{ loop: string; texts: string[] }>;
  /** Runs counted as running: in flight and not paused (a paused run still holds its place in the limit). */
  running: number;
  /** The limit on runs at once, and how many are in flight (paused ones included). */
  limit: number;
  inFlight: number;
  /** The supervisor stream's seq when this was taken: its events with a higher seq are newer. */
  seq: number;
}

let nextCommandId = 0;
const COMMAND_ID_PREFIX = `c${process.pid.toString(36)}-`;

/** A process-unique command id. */
export function newCommandId(): string {
  nextCommandId += 1;
  return `${COMMAND_ID_PREFIX}${nextCommandId.toString(36)}`;
}

/** Whether this process made the command id (its reply, coming back from another process, is ours). */
export function isOwnCommandId(id: string): boolean {
  return id.startsWith(COMMAND_ID_PREFIX);
}
