/** Commands flow back from a person (or a trigger) to the engine through this one typed entry point. */
import type { EventListener, Outcome } from './events.js';

export type Command =
  | { type: 'start'; loop: string; trigger?: string }
  | { type: 'stop'; loop: string }
  | { type: 'pause'; loop: string }
  | { type: 'resume'; loop: string }
  /** `now: false` queues it for the next iteration (`:`), `now: true` interrupts (`!`). */
  | { type: 'instruct'; loop: string; text: string; now: boolean };

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
  send(command: Command): void;
  subscribe(listener: EventListener): () => void;
}
