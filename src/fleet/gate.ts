/**
 * The fleet's caps across all loops (loops/loops.yaml `budget:`), checked before every model call of
 * every run (a CallGate) and before every new run (a SupervisorJob's holdStart).
 *
 * - daily_usd: dollars of priced calls since local midnight. Reached when spent ≥ cap; released at the
 *   next local midnight.
 * - burn_usd_per_hour: the dollars of the calls answered in the last 15 minutes, times four. Reached
 *   when that rate ≥ cap; released when calls leave the window and the rate falls below it (held calls
 *   spend nothing, so it always falls).
 *
 * When a cap is reached, calls wait (they never fail) and new runs wait in the queue with the reason;
 * a stop ends a call's wait at once. The check is in memory: seeded from the ledger once at start,
 * then fed by every `model.response` as it is billed (a run's from the event stream, a triage call's
 * handed to `count` by the trigger), so a call costs no file reading.
 *
 * Overshoot: a call already sent when the cap is reached still completes and is billed, so the fleet
 * can pass a cap by at most one call per run in flight (sixteen runs: sixteen calls), never by whole
 * runs. Unpriced calls (models missing from the price table) have no dollars, so they are not counted.
 */
import type { CallGate, GatedCall } from '../core/budget/call-gate.js';
import type { LoopEvent } from '../core/events.js';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import { seedSpend } from './spend-seed.js';

export const BURN_WINDOW_MS = 15 * 60_000;
const WINDOWS_PER_HOUR = 3_600_000 / BURN_WINDOW_MS;
/** While a cap holds, how often it is looked at again (the day turning, the window emptying). */
const DEFAULT_RECHECK_MS = 5_000;
const WARN_LEVELS = [0.8, 1] as const;

export type FleetCap = 'daily_usd' | 'burn_usd_per_hour';

export interface FleetBudget {
  daily_usd?: number | undefined;
  burn_usd_per_hour?: number | undefined;
}

export interface FleetGateOptions {
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
  recheckMs?: number;
}

interface Reached {
  cap: FleetCap;
  used: number;
  limit: number;
  reason: string;
}

interface Waiter {
  resolve(answer: 'go' | 'stopped'): void;
}

export class FleetGate implements CallGate, SupervisorJob {
  readonly name = 'fleet budget';
  private ctx: JobContext | undefined;
  private readonly now: () => number;
  private readonly recheckMs: number;
  private day = '';
  private todayUsd = 0;
  /** Priced calls in the burn window, oldest first (a few hundred at most: summed when asked). */
  private readonly window: Array<{ at: number; usd: number }> = [];
  private held: Reached | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly warned = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly budget: FleetBudget,
    options: FleetGateOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
    this.day = localDay(this.now());
  }

  get capped(): boolean {
    return this.budget.daily_usd !== undefined || this.budget.burn_usd_per_hour !== undefined;
  }

  async start(ctx: JobContext): Promise<void> {
    this.ctx = ctx;
    if (!this.capped) return;
    // Subscribed before the ledger is read: a call billed meanwhile may count twice, never not at all.
    this.unsubscribe = ctx.subscribe((event) => this.count(event));
    const now = this.now();
    const seed = await seedSpend(ctx.paths, localMidnight(now), now, BURN_WINDOW_MS);
    this.todayUsd += seed.todayUsd;
    for (const call of seed.recent) this.window.push(call);
    this.window.sort((a, b) => a.at - b.at);
    this.refresh();
  }

  stop(): void {
    this.unsubscribe?.();
    this.stopTimer();
    // Shutdown stops the runs right after the jobs: their waits end with the stop itself.
  }

  wait(_call: GatedCall, signal: AbortSignal): Promise<'go' | 'stopped'> {
    if (signal.aborted) return Promise.resolve('stopped');
    this.refresh();
    if (!this.held) return Promise.resolve('go');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: (answer) => {
          signal.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(answer);
        },
      };
      const onAbort = (): void => waiter.resolve('stopped');
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  holdStart(): string | undefined {
    // Pure: asked inside the supervisor's queue handling, where a state change must not recurse into it.
    return this.reached(this.now())?.reason;
  }

  info(): { waiting?: string } {
    const reached = this.reached(this.now());
    return reached ? { waiting: reached.reason } : {};
  }

  /** Today's dollars and the burn rate now, as the gate counts them (for status lines and tests). */
  usage(): { todayUsd: number; burnUsdPerHour: number; waiting: number } {
    const now = this.now();
    return {
      todayUsd: this.todayOf(now),
      burnUsdPerHour: this.burnAt(now),
      waiting: this.waiters.size,
    };
  }

  /**
   * Counts a billed call (a `model.response` with dollars). Runs' calls come from the event stream;
   * calls outside any run (a triage) are handed here by their caller (triggers/triage.ts countSpend).
   */
  count(event: LoopEvent): void {
    if (event.type !== 'model.response') return;
    const usd = event.usd;
    if (typeof usd !== 'number' || !Number.isFinite(usd) || usd <= 0) return;
    const now = this.now();
    this.rollDay(now);
    this.todayUsd += usd;
    this.window.push({ at: now, usd });
    this.refresh();
  }

  /** Moves the state on to now: the day, the window, the warnings, holding and releasing. */
  private refresh(): void {
    if (!this.capped) return;
    const now = this.now();
    this.rollDay(now);
    this.prune(now);
    this.warn(now);
    const reached = this.reached(now);
    if (reached) {
      if (this.held?.cap !== reached.cap) {
        this.held = reached;
        this.emit({ type: 'fleet.status', state: 'waiting', ...reached });
      } else this.held = reached;
      this.startTimer();
      return;
    }
    if (!this.held) return;
    const was = this.held;
    this.held = undefined;
    this.stopTimer();
    const used = was.cap === 'daily_usd' ? this.todayUsd : this.burnAt(now);
    this.emit({
      type: 'fleet.status',
      state: 'released',
      cap: was.cap,
      used,
      limit: was.limit,
      reason: `the fleet's ${capName(was.cap)} no longer holds calls back: they go on`,
    });
    for (const waiter of [...this.waiters]) waiter.resolve('go');
    // After the current call stack: the queue's starts must not begin inside an event listener.
    setImmediate(() => this.ctx?.drainQueue());
  }

  private reached(now: number): Reached | undefined {
    const { daily_usd: daily, burn_usd_per_hour: burn } = this.budget;
    const today = this.todayOf(now);
    if (daily !== undefined && today >= daily) {
      return {
        cap: 'daily_usd',
        used: today,
        limit: daily,
        reason:
          `the fleet's daily cap is reached ($${today.toFixed(2)} of $${daily.toFixed(2)} today): ` +
          'model calls and new runs wait until midnight (local time)',
      };
    }
    const rate = this.burnAt(now);
    if (burn !== undefined && rate >= burn) {
      return {
        cap: 'burn_usd_per_hour',
        used: rate,
        limit: burn,
        reason:
          `the fleet's burn rate is $${rate.toFixed(2)}/h over the last 15 minutes, at or above its cap ` +
          `of $${burn.toFixed(2)}/h: model calls and new runs wait until it falls`,
      };
    }
    return undefined;
  }

  /** 80% and 100% of each cap, once each per local day. */
  private warn(now: number): void {
    const caps: Array<[FleetCap, number | undefined, number]> = [
      ['daily_usd', this.budget.daily_usd, this.todayOf(now)],
      ['burn_usd_per_hour', this.budget.burn_usd_per_hour, this.burnAt(now)],
    ];
    for (const [cap, limit, used] of caps) {
      if (limit === undefined) continue;
      for (const level of WARN_LEVELS) {
        const key = `${this.day}:${cap}:${level}`;
        if (used < limit * level || this.warned.has(key)) continue;
        this.warned.add(key);
        this.emit({
          type: 'fleet.status',
          state: 'warning',
          cap,
          used,
          limit,
          reason: `the fleet's ${capName(cap)} is at ${Math.round((used / limit) * 100)}% ($${used.toFixed(2)} of $${limit.toFixed(2)}${cap === 'daily_usd' ? '' : '/h'})`,
        });
      }
    }
  }

  private todayOf(now: number): number {
    return localDay(now) === this.day ? this.todayUsd : 0;
  }

  private burnAt(now: number): number {
    let sum = 0;
    for (const call of this.window) if (call.at > now - BURN_WINDOW_MS && call.at <= now) sum += call.usd;
    return sum * WINDOWS_PER_HOUR;
  }

  private rollDay(now: number): void {
    const day = localDay(now);
    if (day === this.day) return;
    this.day = day;
    this.todayUsd = 0;
  }

  private prune(now: number): void {
    while ((this.window[0]?.at ?? now) <= now - BURN_WINDOW_MS) this.window.shift();
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.refresh(), this.recheckMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private emit(body: Parameters<JobContext['emit']>[2]): void {
    this.ctx?.emit('fleet', '', body);
  }
}

function capName(cap: FleetCap): string {
  return cap === 'daily_usd' ? 'daily cap' : 'burn-rate cap';
}

/** The local calendar day of a time, YYYY-MM-DD. */
export function localDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function localMidnight(ms: number): number {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}
