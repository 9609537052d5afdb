/**
 * The run's caps. Every cap is checked before each model call and each tool call, so a run never
 * passes a cap by more than the one call in flight.
 *
 * Dollars come from the price table (prices.ts). A call the table cannot price adds its tokens but no
 * dollars, and is counted in `unpricedCalls`: for such a model the tokens cap is what bounds the run.
 */
import type { BudgetConfig } from '../definition/schema.js';
import type { BudgetCap, TokenUsage } from '../events.js';
import { addUsage, emptyUsage } from '../events.js';

export interface BudgetBreach {
  cap: BudgetCap;
  limit: number;
  used: number;
}

export class BudgetTracker {
  iterations = 0;
  toolCalls = 0;
  usage: TokenUsage = emptyUsage();
  /** Dollars spent on priced calls. */
  usd = 0;
  /** Calls whose model is not in the price table: their dollars are not in `usd`. */
  unpricedCalls = 0;
  private readonly startedAt: number;

  constructor(
    readonly limits: BudgetConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  get tokens(): number {
    const u = this.usage;
    return u.input + u.output + u.cacheRead + u.cacheWrite;
  }

  get minutes(): number {
    return (this.now() - this.startedAt) / 60_000;
  }

  recordUsage(usage: TokenUsage, usd: number | null): void {
    this.usage = addUsage(this.usage, usage);
    if (usd === null) this.unpricedCalls += 1;
    else this.usd += usd;
  }

  /** The caps that bound spending in flight; checked before every model and tool call. */
  checkSpend(): BudgetBreach | undefined {
    const l = this.limits;
    if (this.tokens >= l.tokens) return { cap: 'tokens', limit: l.tokens, used: this.tokens };
    if (this.usd >= l.usd) return { cap: 'usd', limit: l.usd, used: round(this.usd, 4) };
    if (this.minutes >= l.minutes) return { cap: 'minutes', limit: l.minutes, used: round(this.minutes, 2) };
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
  return `${name} budget reached: used ${b.used}${unit} of ${b.limit}${unit}`;
}
