/**
 * Spend outside any run of the loop: the analyst's calls and the evaluation's re-runs. They go in the
 * loop's spend ledger under a pseudo-run `improve-<proposal>` (so `loops spend` counts them), and the
 * analyst's calls are held to the `hillclimb:` budget (dollars per proposal) by a BudgetTracker of
 * their own, like a run's calls are held to its `budget:`.
 */
import type { LoopDefinition } from '../core/definition/schema.js';
import type { EventOf, LoopEvent, TokenUsage } from '../core/events.js';
import { BudgetTracker } from '../core/budget/caps.js';
import { callFromEvent } from '../core/budget/ledger.js';
import { RunControl } from '../core/run/control.js';
import { createEmitter, type Emitter } from '../core/run/emitter.js';
import type { RunSpendLog, SpendLedger } from '../state/spend-ledger.js';

export type Pricer = (model: string, usage: TokenUsage) => number | null;

export class SpendScope {
  readonly budget: BudgetTracker;
  readonly control = new RunControl();
  readonly emitter: Emitter;
  /** Dollars of every priced call recorded here: the analyst's and the evaluation's. */
  usd = 0;
  unpriced = 0;
  private failure: Error | undefined;

  private constructor(
    readonly run: string,
    private readonly log: RunSpendLog,
    private readonly price: Pricer,
    definition: LoopDefinition,
    usdCap: number,
    onEvent?: (event: LoopEvent) => void,
  ) {
    // Only dollars bind the analyst; the other caps are set far out of reach (ten minutes of calls).
    this.budget = new BudgetTracker({
      iterations: 1_000,
      tool_calls: 1_000,
      usd: usdCap,
      tokens: 50_000_000,
      minutes: 10,
    });
    this.emitter = createEmitter(definition.name, run, (event) => {
      if (event.type === 'model.response') this.record(event);
      onEvent?.(event);
    });
  }

  static async open(o: {
    ledger: SpendLedger;
    definition: LoopDefinition;
    run: string;
    usdCap: number;
    price: Pricer;
    onEvent?: (event: LoopEvent) => void;
  }): Promise<SpendScope> {
    const log = await o.ledger.openRun(o.definition.name, o.run);
    return new SpendScope(o.run, log, o.price, o.definition, o.usdCap, o.onEvent);
  }

  /** A call made here, or one of an evaluation run (recorded under this scope's pseudo-run). */
  record(event: EventOf<'model.response'>): void {
    const call = { ...callFromEvent(event, this.price), run: this.run };
    try {
      this.log.record(call);
    } catch (error) {
      // Spending on without a record would break the ledger's promise: stop the analysis.
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      this.control.stop(`the spend ledger could not record a call: ${this.failure.message}`);
    }
    if (call.usd === null) this.unpriced += 1;
    else this.usd += call.usd;
  }

  /** The ledger could not record a call: the caller must say so. */
  get error(): Error | undefined {
    return this.failure;
  }

  async close(): Promise<void> {
    this.budget.deadline.dispose();
    await this.log.close();
  }
}
