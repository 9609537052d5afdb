/**
 * How a person reaches a run in flight: stop, pause/resume, and instructions (queued for the next
 * iteration, or given now by interrupting the model call in flight). The run polls this at its safe
 * points: before every model call and every tool call.
 */
import type { SuspendableClock } from '../budget/deadline.js';
import { waitForPerson } from './person-wait.js';

export class RunControl {
  private stopReason: string | undefined;
  private paused = false;
  private resumeWaiters: Array<() => void> = [];
  private queued: string[] = [];
  private urgent: string[] = [];
  private inFlight: AbortController | undefined;
  private readonly stopController = new AbortController();
  /** Clocks that stand still while the run waits for a person (the minutes deadline). */
  private readonly clocks = new Set<SuspendableClock>();

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

  /**
   * Resolves at once unless paused; then when resumed or stopped, or when `timeoutMs` has passed with
   * the run still paused (a stall's pause, which must not wait forever for nobody). The clocks stand
   * still meanwhile.
   */
  async waitWhilePaused(timeoutMs: number | null = null): Promise<'resumed' | 'stopped' | 'timeout'> {
    if (this.stopRequested) return 'stopped';
    if (!this.paused) return 'resumed';
    const waited = await this.waitingForPerson(() =>
      waitForPerson<void>(this.stopSignal, timeoutMs, (answer) => {
        this.resumeWaiters.push(answer);
        return () => {
          this.resumeWaiters = this.resumeWaiters.filter((w) => w !== answer);
        };
      }),
    );
    return waited.by === 'person' ? 'resumed' : waited.by === 'stop' ? 'stopped' : 'timeout';
  }

  /** A clock to suspend while the run waits for a person; returns its detach. */
  attachClock(clock: SuspendableClock): () => void {
    this.clocks.add(clock);
    return () => this.clocks.delete(clock);
  }

  /** Runs `wait` (a pause, an approval) with the attached clocks suspended: waiting is not work. */
  async waitingForPerson<T>(wait: () => Promise<T>): Promise<T> {
    const held = [...this.clocks];
    for (const clock of held) clock.suspend();
    try {
      return await wait();
    } finally {
      for (const clock of held) clock.resume();
    }
  }

  private release(): void {
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
  }
}
