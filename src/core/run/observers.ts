/**
 * A run's event sink as a list of observers: the trace writer, the spend ledger, the error tracker,
 * the instruction log, the forwarder to the supervisor, and whatever comes next (the stall detector,
 * telemetry). Each sees every event in order; events an observer emits in answer are queued and
 * emitted after the current event has reached every observer, never from inside another emit.
 */
import type { LoopEvent, LoopEventBody } from '../events.js';

/**
 * What an observer asks of the iteration loop at the safe point after an iteration: tell the next
 * iteration something (a nudge), wait for a person, or end the run with an outcome.
 */
export type SafePointVerdict =
  | { kind: 'nudge'; note: string }
  /** `timeoutMs`: how long the pause waits for a person before the run ends `stalled`. */
  | { kind: 'pause'; reason: string; timeoutMs: number }
  | { kind: 'end'; outcome: 'stalled'; reason: string };

export interface RunObserver {
  /** Sees one event; may answer with events to emit after it (an error signature, a stall verdict). */
  observe(event: LoopEvent): readonly LoopEventBody[] | void;
  /**
   * Called at every iteration's end and before the run's record is written, at the same time as the
   * other observers' flushes (each writes its own files, and their fsyncs then share the disk's work).
   */
  flush?(): Promise<void>;
  /** Called once after `run.ended`. */
  close?(): Promise<void>;
  /** Asked after each iteration has ended; the first verdict given is applied. */
  atSafePoint?(): SafePointVerdict | undefined;
}

export class ObserverList {
  private readonly observers: RunObserver[] = [];
  private readonly queue: LoopEventBody[] = [];
  private draining = false;

  constructor(private readonly emit: (body: LoopEventBody) => void) {}

  add(observer: RunObserver): this {
    this.observers.push(observer);
    return this;
  }

  /** The emitter's sink: every observer sees the event, then the events they answered with follow. */
  readonly dispatch = (event: LoopEvent): void => {
    for (const observer of this.observers) {
      const answered = observer.observe(event);
      if (answered) this.queue.push(...answered);
    }
    if (this.draining) return;
    this.draining = true;
    try {
      for (let body = this.queue.shift(); body; body = this.queue.shift()) this.emit(body);
    } finally {
      this.draining = false;
    }
  };

  /** The first observer's verdict at this safe point (each observer is asked, so none keeps a stale one). */
  atSafePoint(): SafePointVerdict | undefined {
    let first: SafePointVerdict | undefined;
    for (const observer of this.observers) first ??= observer.atSafePoint?.();
    return first;
  }

  /** Every observer's flush at once; the first failure is thrown once all have finished. */
  async flush(): Promise<void> {
    const results = await Promise.allSettled(this.observers.map(async (observer) => observer.flush?.()));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async close(): Promise<void> {
    for (const observer of this.observers) await observer.close?.();
  }
}
