/**
 * A spend scope for model calls outside a run: a trigger's triage call, say. Such a call still goes
 * through the one model caller (caps, call gate, retries, pricing) and still lands in the spend ledger,
 * under a pseudo-run of its own (`triage-20261202-071502-a3f9`) in the loop's spend folder, so
 * `loops spend` counts it with the loop's other spending; it is never a run of the loop (no worktree,
 * no trace, no index record), and the spend report does not count it as one.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { LoopEvent } from '../events.js';
import type { ModelProvider } from '../../models/provider.js';
import { BudgetTracker } from '../budget/caps.js';
import { callFromEvent } from '../budget/ledger.js';
import { pricerFor } from '../budget/prices.js';
import type { CallGate } from '../budget/call-gate.js';
import type { StatePaths } from '../../state/paths.js';
import { ledgerFor, type RunSpendLog, type SpendLedger } from '../../state/spend-ledger.js';
import { RunControl } from './control.js';
import { createEmitter } from './emitter.js';
import { ModelCaller, type Pricer } from './model-caller.js';
import { outsideRunId, type OutsideStep } from './outside-run-id.js';

export { isOutsideRunId, outsideRunId } from './outside-run-id.js';

/** A call outside a run gets this much time at most (the loop's own minutes cap, if smaller). */
const OUTSIDE_CALL_MINUTES = 2;

export interface OutsideCallOptions {
  definition: LoopDefinition;
  step: OutsideStep;
  provider: ModelProvider;
  paths: StatePaths;
  /** Default: the shared writable ledger of `paths` (the process holds the state lock). */
  ledger?: SpendLedger;
  /** Default: the price table for the loop's provider. */
  price?: Pricer;
  /** Aborts the call in flight (the supervisor shutting down). */
  signal?: AbortSignal;
  /** The fleet's caps, checked before the call like any run's. */
  callGate?: CallGate;
  /** Every event the call makes (model.request/response, provider.retry, run.error), for tests and logs. */
  onEvent?: (event: LoopEvent) => void;
}

export interface OutsideCall {
  /** The pseudo-run id its calls are recorded under. */
  readonly run: string;
  readonly caller: ModelCaller;
  /** What the calls spent so far. */
  readonly budget: BudgetTracker;
  /** Records the pseudo-run's file as complete; always call it, whatever the call did. */
  close(): Promise<void>;
}

export async function openOutsideCall(opts: OutsideCallOptions): Promise<OutsideCall> {
  const def = opts.definition;
  const run = outsideRunId(opts.step);
  const price = opts.price ?? pricerFor(def.agent.provider);
  const ledger = opts.ledger ?? ledgerFor(opts.paths);
  const log: RunSpendLog = await ledger.openRun(def.name, run);
  const control = new RunControl();
  const stop = (): void => control.stop('loops is shutting down');
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  // The loop's caps bound one call too; the time is kept short: nothing waits on a person here.
  const budget = new BudgetTracker({
    ...def.budget,
    minutes: Math.min(def.budget.minutes, OUTSIDE_CALL_MINUTES),
  });
  const emitter = createEmitter(def.name, run, (event) => {
    // Billed as it is billed, like a run's calls: a call that cannot be recorded fails the caller.
    if (event.type === 'model.response') log.record(callFromEvent(event, price));
    opts.onEvent?.(event);
  });
  const caller = new ModelCaller({
    provider: opts.provider,
    definition: def,
    budget,
    control,
    emitter,
    price,
    run,
    ...(opts.callGate ? { callGate: opts.callGate } : {}),
  });
  let closed = false;
  return {
    run,
    caller,
    budget,
    async close() {
      if (closed) return;
      closed = true;
      opts.signal?.removeEventListener('abort', stop);
      budget.deadline.dispose();
      await log.close();
    },
  };
}
