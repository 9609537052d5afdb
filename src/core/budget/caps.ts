/**
 * The run's caps. Every cap is checked before each model call and each tool call, so a run never
 * passes a cap by more than the one call in flight.
 *
 * Dollars come from the price table (prices.ts). A call the table cannot price adds its tokens but no
 * dollars, and is counted in `unpricedCalls`: for such a model the tokens cap is what bounds the run.
 *
 * A CLI agent's call is a whole session of its own, so its spend is also counted while it runs
 * (setInFlight): the spend caps see it, and the caller stops the agent once one is reached.
 *
 * The minutes cap is also a deadline (deadline.ts) whose signal aborts whatever is in flight when the
 * time is up; its clock stops while the run waits for a person.
 */
import type { BudgetConfig } from '../definition/schema.js';
import type { BudgetCap, TokenUsage } from '../events.js';
import { addUsage, emptyUsage, totalTokens } from '../events.js';
import { Deadline } from './deadline.js';

export interface BudgetBreach {
  cap: BudgetCap;
  limit: number;
  used: number;
  /** Why the cap ends the run before it is quite reached (a retry wait that would pass it). */
  why?: string;
}

export class BudgetTracker {
  iterations = 0;
  toolCalls = 0;
  usage: TokenUsage = emptyUsage();
  /** Dollars spent on priced calls. */
  usd = 0;
  /** Calls whose model is not in the price table: their dollars are not in `usd`. */
  unpricedCalls = 0;
  /** The minutes cap as a clock whose signal aborts the work in flight when the time is up. */
  readonly deadline: Deadline;
  /** The call in flight's spend so far, not yet recorded. */
  private inFlight: { tokens: number; usd: number } | undefined;

  constructor(
    readonly limits: BudgetConfig,
    now: () => number = Date.now,
  ) {
    this.deadline = new Deadline(limits.minutes * 60_000, now);
  }

  get tokens(): number {
    return totalTokens(this.usage);
  }

  /** Working minutes so far; time spent waiting for a person does not count. */
  get minutes(): number {
    return this.deadline.elapsedMs() / 60_000;
  }

  /** The minutes cap as a breach, for work the deadline cut short (or a wait it would not outlast). */
  minutesBreach(why?: string): BudgetBreach {
    const used = round(this.minutes, 2);
    return { cap: 'minutes', limit: this.limits.minutes, used, ...(why === undefined ? {} : { why }) };
  }

  /** A finished (or ended) call's usage: counted once, replacing what was in flight. */
  recordUsage(usage: TokenUsage, usd: number | null): void {
    this.usage = addUsage(this.usage, usage);
    if (usd === null) this.unpricedCalls += 1;
    else this.usd += usd;
    this.inFlight = undefined;
  }

  /**
   * What the call in flight has used so far, a running total that replaces the last one; `usd` is
   * null when it cannot be priced. The spend caps count it until recordUsage() or clearInFlight().
   */
  setInFlight(usage: TokenUsage, usd: number | null): void {
    this.inFlight = { tokens: totalTokens(usage), usd: usd ?? 0 };
  }

  /** The call in flight ended with nothing to record. */
  clearInFlight(): void {
    this.inFlight = undefined;
  }

  /** The caps that bound spending in flight; checked before every model and tool call. */
  checkSpend(): BudgetBreach | undefined {
    const l = this.limits;
    const tokens = this.tokens + (this.inFlight?.tokens ?? 0);
    const usd = this.usd + (this.inFlight?.usd ?? 0);
    if (tokens >= l.tokens) return { cap: 'tokens', limit: l.tokens, used: tokens };
    if (usd >= l.usd) return { cap: 'usd', limit: l.usd, used: round(usd, 4) };
    if (this.deadline.expired) return this.minutesBreach();
    return undefined;
  }

  /** Before a model call. */
  checkModelCall(): BudgetBreach | undefined {
    return this.checkSpend();
  }

  /** Before a tool call. */
  checkToolCall(): BudgetBreach | undefined {
    const l = this.limits;
    if (this.toolCalls >= l.tool_calls)
      return { cap: 'tool_calls', limit: l.tool_calls, used: this.toolCalls };
    return this.checkSpend();
  }

  /** Before an iteration starts. */
  checkIteration(): BudgetBreach | undefined {
    const l = this.limits;
    if (this.iterations >= l.iterations)
      return { cap: 'iterations', limit: l.iterations, used: this.iterations };
    return this.checkSpend();
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function describeBreach(b: BudgetBreach): string {
  const unit = b.cap === 'usd' ? ' USD' : b.cap === 'minutes' ? ' minutes' : '';
  const name = b.cap.replace('_', ' ');
  if (b.why !== undefined) return `${name} budget: used ${b.used}${unit} of ${b.limit}${unit}; ${b.why}`;
  return `${name} budget reached: used ${b.used}${unit} of ${b.limit}${unit}`;
}
