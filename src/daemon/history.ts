/**
 * The events of the runs in flight, kept so that a screen attaching mid-run can be replayed what it
 * missed: its store then reduces the same events the owner's screen saw, and shows the run's
 * iterations, tool calls and spend so far. Streamed text (model.delta) is left out, and a long run
 * keeps its run.started and its latest events only.
 */
import type { LoopEvent } from '../core/events.js';

/** Events kept per run in flight: a snapshot covers what is cut. */
export const MAX_EVENTS_PER_RUN = 4000;

export class RunHistory {
  private readonly runs = new Map<string, LoopEvent[]>();

  constructor(private readonly maxPerRun = MAX_EVENTS_PER_RUN) {}

  add(event: LoopEvent): void {
    if (event.source !== undefined && event.source !== 'run') return;
    if (event.type === 'model.delta') return;
    const key = `${event.loop}\u0000${event.run}`;
    if (event.type === 'run.ended') {
      this.runs.delete(key);
      return;
    }
    let list = this.runs.get(key);
    if (!list) {
      list = [];
      this.runs.set(key, list);
    }
    list.push(event);
    // Cut a quarter at a time (after run.started), so the cost per event stays constant.
    if (list.length > this.maxPerRun) list.splice(1, Math.ceil(this.maxPerRun / 4));
  }

  /** Every kept event, run by run, in the order each run emitted them. */
  events(): LoopEvent[] {
    return [...this.runs.values()].flat();
  }

  get size(): number {
    return this.runs.size;
  }
}
