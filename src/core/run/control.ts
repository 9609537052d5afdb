/**
 * How a person reaches a run in flight: stop, pause/resume, and instructions (queued for the next
 * iteration, or given now by interrupting the model call in flight). The run polls this at its safe
 * points: before every model call and every tool call.
 */

export class RunControl {
  private stopReason: string | undefined;
  private paused = false;
  private resumeWaiters: Array<() => void> = [];
  private queued: string[] = [];
  private urgent: string[] = [];
  private inFlight: AbortController | undefined;
  private readonly stopController = new AbortController();
  /** Time spent waiting for a person (a pause, an approval): not part of the `minutes` budget. */
  private personWaits = 0;
  private personWaitSince = 0;
  private personWaitedMs = 0;
  /** The clock the waits are measured with: the run sets the budget's clock here. */
  clock: () => number = Date.now;

  /** Aborted only by a stop (not by an interrupt): for graders, which must not be cut short by `!`. */
  get stopSignal(): AbortSignal {
    return this.stopController.signal;
  }

  get stopRequested(): boolean {
    return this.stopReason !== undefined;
  }

  get stopMessage(): string {
    return this.stopReason ?? '';
  }

  get isPaused(): boolean {
    return this.paused;
  }

  stop(reason = 'stopped by a person'): void {
    this.stopReason ??= reason;
    this.inFlight?.abort();
    this.stopController.abort();
    this.release();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.release();
  }

  /** `now` interrupts the model call in flight; otherwise the text waits for the next iteration. */
  instruct(text: string, now: boolean): void {
    if (now) {
      this.urgent.push(text);
      this.inFlight?.abort();
    } else {
      this.queued.push(text);
    }
  }

  takeQueued(): string[] {
    const out = this.queued;
    this.queued = [];
    return out;
  }

  takeUrgent(): string[] {
    const out = this.urgent;
    this.urgent = [];
    return out;
  }

  get hasUrgent(): boolean {
    return this.urgent.length > 0;
  }

  /** A signal for one model or tool call; stop and `!` abort it. */
  callSignal(): AbortSignal {
    this.inFlight = new AbortController();
    if (this.stopRequested) this.inFlight.abort();
    return this.inFlight.signal;
  }

  /** Resolves at once unless paused; then when resumed or stopped. */
  async waitWhilePaused(): Promise<void> {
    if (!this.paused || this.stopRequested) return;
    this.beginPersonWait();
    try {
      while (this.paused && !this.stopRequested) {
        await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
      }
    } finally {
      this.endPersonWait();
    }
  }

  /** The run waits for a person from now on (nested waits count once). */
  beginPersonWait(): void {
    if (this.personWaits === 0) this.personWaitSince = this.clock();
    this.personWaits += 1;
  }

  endPersonWait(): void {
    if (this.personWaits === 0) return;
    this.personWaits -= 1;
    if (this.personWaits === 0) this.personWaitedMs += this.clock() - this.personWaitSince;
  }

  get waitingForPerson(): boolean {
    return this.personWaits > 0;
  }

  /** Milliseconds spent waiting for a person so far, the wait in progress included. */
  personWaitMs(): number {
    const current = this.personWaits > 0 ? this.clock() - this.personWaitSince : 0;
    return this.personWaitedMs + current;
  }

  private release(): void {
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
  }
}
