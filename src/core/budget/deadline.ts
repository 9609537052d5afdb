/**
 * The `minutes` cap as a clock that bounds work in flight: its signal fires when the run's time is up,
 * and everything a run waits on (a model request, a retry wait, a tool, a grader, a CLI agent's
 * session) listens to it, so no single call can outlive the cap.
 *
 * Time spent waiting for a person (a pause; later, an approval) is not work: the clock is suspended
 * while the run waits (RunControl suspends the clocks attached to it) and resumes where it stopped.
 */

/** The reason the signal carries, so a listener can tell the deadline from a stop. */
export class DeadlineReached extends Error {
  constructor(readonly limitMs: number) {
    super(`the run's time is up (minutes budget: ${limitMs / 60_000} minutes)`);
    this.name = 'DeadlineReached';
  }
}

/** What a person's wait suspends (RunControl.attachClock). */
export interface SuspendableClock {
  suspend(): void;
  resume(): void;
}

/** setTimeout fires at once for anything longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadline implements SuspendableClock {
  private readonly controller = new AbortController();
  /** Working time before the current stretch. */
  private usedMs = 0;
  /** When the current stretch of work began; undefined while suspended. */
  private since: number | undefined;
  private holds = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(
    readonly limitMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
    this.arm();
  }

  /** Fires when the time is up; its reason is a DeadlineReached. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted || this.remainingMs() <= 0;
  }

  get suspended(): boolean {
    return this.holds > 0;
  }

  /** Working time so far, waits for a person excluded. */
  elapsedMs(): number {
    return this.usedMs + (this.since === undefined ? 0 : this.now() - this.since);
  }

  remainingMs(): number {
    return Math.max(0, this.limitMs - this.elapsedMs());
  }

  /** Stops the clock (nested calls need as many resume()s). */
  suspend(): void {
    this.holds += 1;
    if (this.holds > 1 || this.since === undefined) return;
    this.usedMs += this.now() - this.since;
    this.since = undefined;
    clearTimeout(this.timer);
  }

  resume(): void {
    if (this.holds === 0) return;
    this.holds -= 1;
    if (this.holds > 0) return;
    this.since = this.now();
    this.arm();
  }

  /** The run is over: no timer is left behind. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.disposed || this.controller.signal.aborted || !Number.isFinite(this.limitMs)) return;
    const left = this.remainingMs();
    if (left <= 0) {
      this.controller.abort(new DeadlineReached(this.limitMs));
      return;
    }
    // Checked again when it fires: a timer may fire a little early, and a long cap takes several.
    this.timer = setTimeout(() => this.arm(), Math.min(Math.ceil(left), MAX_TIMER_MS));
    this.timer.unref();
  }
}
