/**
 * Jobs above the run: what starts runs without a person pressing go (cron, watch, webhooks, goals),
 * what watches many runs (the fleet's caps, outbound notifications, hill-climbing after every N runs),
 * and what serves the supervisor's port to other processes (the daemon's socket). A job talks to the
 * supervisor only through this context: it sends commands and reads their replies, subscribes to events,
 * and emits events of its own source. None imports the supervisor or the run.
 */
import type { Command, CommandReply, LoopInfo, SupervisorPort } from './control.js';
import type { EventListener, EventSource, LoopEventBody } from './events.js';
import type { LoopDefinition } from './definition/schema.js';
import type { StatePaths } from '../state/paths.js';

export interface JobContext {
  readonly repoRoot: string;
  readonly paths: StatePaths;
  /** loops' own environment (secrets by name come from here; never written anywhere). */
  readonly env: NodeJS.ProcessEnv;
  /** The supervisor's port: loops, send, subscribe, snapshot. */
  readonly port: SupervisorPort;
  send(command: Command): CommandReply;
  subscribe(listener: EventListener): () => void;
  /** The valid definitions now (they change on reload: a `loops.changed` event says when). */
  definitions(): LoopDefinition[];
  /** Emits an event on the job's own stream (`run` = the source's name, its own seq). */
  emit(source: Exclude<EventSource, 'run'>, loop: string, body: LoopEventBody): void;
  /** Starts waiting in the queue are looked at again (a fleet cap was released, say). */
  drainQueue(): void;
  /** Aborted when the supervisor shuts down. */
  readonly signal: AbortSignal;
  /** Failures of the job itself, reported (never swallowed). */
  reportError(error: unknown): void;
}

export interface SupervisorJob {
  /** For errors and logs: "cron", "webhook server", "fleet"... */
  readonly name: string;
  start(ctx: JobContext): void | Promise<void>;
  /** Stops timers, watchers and servers; called once, on shutdown. */
  stop(): void | Promise<void>;
  /** What this job adds to a loop's line (its next due time, a goal's progress, why its starts wait). */
  info?(loop: string): Partial<Pick<LoopInfo, 'nextDue' | 'goal' | 'waiting'>>;
  /**
   * Asked before a start leaves the queue or begins: a reason to hold it back (it waits in the queue),
   * or undefined to let it go. The fleet's daily cap holds new runs this way.
   */
  holdStart?(loop: string): string | undefined;
}
