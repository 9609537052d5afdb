/**
 * Spend outside any run of the loop: the analyst's calls and the evaluation's re-runs. They go in the
 * loop's spend ledger under pseudo-runs (`improve-<proposal>` for the analyst, `improve-<proposal>-eval`
 * for the evaluation: core/proposals.ts hillclimbRunId), so `loops spend` counts their dollars and
 * shows them on a line of their own, never as runs. The analyst's calls are held to the `hillclimb:`
 * budget (dollars per proposal) by a BudgetTracker of their own, like a run's calls to its `budget:`.
 */
import type { LoopDefinition } from '../core/definition/schema.js';
import type { EventOf, LoopEvent, TokenUsage } from '../core/events.js';
import { BudgetTracker } from '../core/budget/caps.js';
import { callFromEvent } from '../core/budget/ledger.js';
import { RunControl } from '../core/run/control.js';
import { createEmitter, type Emitter } from '../core/run/emitter.js';
import type { RunSpendLog, SpendLedger } from '../state/spend-ledger.js';
import type { CallRecord } from '../state/ledger.js';
import { hillclimbRunId } from '../core/proposals.js';

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
    private readonly evaluationRun: string,
    private readonly evaluationLog: RunSpendLog,
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
    proposal: string;
    usdCap: number;
    price: Pricer;
    onEvent?: (event: LoopEvent) => void;
  }): Promise<SpendScope> {
    const run = hillclimbRunId(o.proposal, 'analyst');
    const evaluationRun = hillclimbRunId(o.proposal, 'evaluation');
    const log = await o.ledger.openRun(o.definition.name, run);
    const evaluationLog = await o.ledger.openRun(o.definition.name, evaluationRun);
    return new SpendScope(run, log, evaluationRun, evaluationLog, o.price, o.definition, o.usdCap, o.onEvent);
  }

  /** A call of the analyst's (recorded under this scope's pseudo-run). */
  record(event: EventOf<'model.response'>): void {
    this.write(this.log, { ...callFromEvent(event, this.price), run: this.run });
  }

  /** A call of one of the evaluation's re-runs (recorded under the evaluation's pseudo-run). */
  recordEvaluation(event: EventOf<'model.response'>): void {
    const call = { ...callFromEvent(event, this.price), run: this.evaluationRun };
    this.write(this.evaluationLog, call);
  }

  private write(log: RunSpendLog, call: CallRecord): void {
    try {
      log.record(call);
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
    await this.evaluationLog.close();
  }
}
