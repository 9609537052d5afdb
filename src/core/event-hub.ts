/**
 * The supervisor's fan-out: every event (a run's, the supervisor's own, a job's) reaches every
 * subscriber through here. Streams other than runs carry their own seq: the supervisor's under
 * `run: 'supervisor'`, each job source's (trigger, fleet, hillclimb) under its own name.
 */
import type { CommandReply } from './control.js';
import type { EventListener, LoopEvent, LoopEventBody } from './events.js';

export type JobSource = 'supervisor' | 'trigger' | 'hillclimb' | 'fleet';

/** The supervisor's own event stream: `run: 'supervisor'`, its own seq. */
const SUPERVISOR_STREAM = 'supervisor';

/** What a `command.replied` event says of one command. */
export interface ReplyBody {
  id: string;
  command: CommandReply['type'];
  ok: boolean;
  status: CommandReply['status'];
  reason: string;
  run?: string;
}

export class EventHub {
  private readonly listeners = new Set<EventListener>();
  private readonly streamSeq = new Map<string, number>();
  /** The supervisor stream's last seq (a snapshot carries it). */
  seq = 0;

  constructor(private readonly reportError: (error: unknown) => void) {}

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: LoopEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A broken subscriber must not break the run (the trace file still has the event), but it is reported.
        this.reportError(err);
      }
    }
  }

  /** A supervisor event: its own stream (`run: 'supervisor'`) with its own seq. */
  supervisor(loop: string, body: LoopEventBody): void {
    this.seq += 1;
    this.publish(streamEvent('supervisor', SUPERVISOR_STREAM, loop, this.seq, body));
  }

  /** A job's event on its source's own stream (`run` = the source), with that stream's own seq. */
  from(source: JobSource, loop: string, body: LoopEventBody): void {
    if (source === 'supervisor') return this.supervisor(loop, body);
    const seq = (this.streamSeq.get(source) ?? 0) + 1;
    this.streamSeq.set(source, seq);
    this.publish(streamEvent(source, source, loop, seq, body));
  }

  /** The answer to a command, for every screen (also one attached later or elsewhere). */
  replied(loop: string, reply: ReplyBody): void {
    const { run, ...rest } = reply;
    this.supervisor(loop, {
      type: 'command.replied',
      ...rest,
      ...(run === undefined ? {} : { target: run }),
    });
  }
}

function streamEvent(
  source: JobSource,
  stream: string,
  loop: string,
  seq: number,
  body: LoopEventBody,
): LoopEvent {
  return {
    source,
    loop,
    run: stream,
    iteration: 0,
    time: new Date().toISOString(),
    seq,
    span: stream,
    ...body,
  };
}
