/**
 * Commands flow back from a person (or a trigger, or another process) to the engine through this one
 * typed entry point. Every command has an id and gets a reply, so a refusal is shown, never dropped.
 */
import type { EventListener, Outcome } from './events.js';

/** Addresses one loop, or one run of it when `run` is given. */
export interface Target {
  loop: string;
  run?: string;
}

export type CommandBody =
  | ({ type: 'start'; trigger?: string } & Target)
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
}

export interface SupervisorPort {
  loops(): LoopInfo[];
  /** Every command is answered at once: started, queued, done or refused (with the reason). */
  send(command: Command): CommandReply;
  subscribe(listener: EventListener): () => void;
}

let nextCommandId = 0;

/** A process-unique command id. */
export function newCommandId(): string {
  nextCommandId += 1;
  return `c${process.pid.toString(36)}-${nextCommandId.toString(36)}`;
}
