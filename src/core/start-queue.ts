/**
 * Starts waiting behind the limit on runs at once (or behind a loop's own run, with a trigger's
 * `overlap: queue`), in order. Every change is announced (`queue.changed`), and every start that
 * leaves the queue is answered under its command's id (`started`, or `refused` and why).
 */
import type { QueuedStart } from './control.js';
import type { EventHub } from './event-hub.js';

/** What the supervisor says of a queued loop now: may it start, must it wait, or never. */
export interface QueueCheck {
  refusal?: string;
  atLimit?: string;
}

export class StartQueue {
  private items: QueuedStart[] = [];

  constructor(private readonly events: EventHub) {}

  get length(): number {
    return this.items.length;
  }

  has(loop: string): boolean {
    return this.items.some((q) => q.loop === loop);
  }

  /** Copies, for a snapshot. */
  entries(): QueuedStart[] {
    return this.items.map((q) => ({ ...q }));
  }

  push(start: QueuedStart): void {
    this.items.push(start);
    this.changed(start.loop);
  }

  /** Takes a loop's waiting starts out (a stop of a loop that has not started yet); false when none. */
  remove(loop: string): boolean {
    const before = this.items.length;
    this.items = this.items.filter((q) => q.loop !== loop);
    if (this.items.length === before) return false;
    this.changed(loop);
    return true;
  }

  /** Refuses every waiting start of the loops named (removed by a reload). */
  refuse(loops: readonly string[], reason: (loop: string) => string): void {
    const gone = this.items.filter((q) => loops.includes(q.loop));
    for (const queued of gone) this.answer(queued, false, 'refused', reason(queued.loop));
    if (gone.length > 0) this.items = this.items.filter((q) => !gone.includes(q));
  }

  /** Refuses everything still waiting (shutting down). */
  clear(reason: string): void {
    for (const queued of this.items) this.answer(queued, false, 'refused', reason);
    if (this.items.length === 0) return;
    this.items = [];
    this.changed('');
  }

  /**
   * Starts, in order, the queued starts that may run now; stops at the first that must still wait
   * for the limit. A loop at its own concurrency waits for its own run; the ones behind it may go first.
   */
  drain(check: (loop: string) => QueueCheck, launch: (queued: QueuedStart) => string): void {
    let changed = false;
    for (const queued of [...this.items]) {
      const { refusal, atLimit } = check(queued.loop);
      if (atLimit) break;
      if (refusal?.includes('already running')) continue;
      this.items = this.items.filter((q) => q !== queued);
      changed = true;
      if (refusal) {
        this.answer(queued, false, 'refused', refusal);
        continue;
      }
      const runId = launch(queued);
      this.answer(queued, true, 'started', `started run ${runId} from the queue`, runId);
    }
    if (changed) this.changed(this.items[0]?.loop ?? '');
  }

  private answer(
    queued: QueuedStart,
    ok: boolean,
    status: 'started' | 'refused',
    reason: string,
    run?: string,
  ): void {
    this.events.replied(queued.loop, {
      id: queued.id,
      command: 'start',
      ok,
      status,
      reason,
      ...(run === undefined ? {} : { run }),
    });
  }

  private changed(loop: string): void {
    this.events.supervisor(loop, {
      type: 'queue.changed',
      queue: this.items.map((q) => ({ loop: q.loop, trigger: q.trigger, since: q.since })),
    });
  }
}
