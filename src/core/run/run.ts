/**
 * One run of a loop: a worktree, then iterations of (context → agent turn → graders → record)
 * until the graders pass, a cap is reached, a person stops it, or an error ends it. Every run
 * ends with exactly one outcome, and leaves a trace, a summary, memory and a branch behind.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { LoopEvent, TokenUsage } from '../events.js';
import type { ModelProvider } from '../../models/provider.js';
import type { Worktrees } from '../../workspace/worktrees.js';
import type { StatePaths } from '../../state/paths.js';
import type { StateIndex } from '../../state/index-db.js';
import { TraceWriter } from '../../state/trace.js';
import type { RunSummary } from '../../state/summary.js';
import { BudgetTracker } from '../budget/caps.js';
import { pricerFor, unpricedWarnings } from '../budget/prices.js';
import { callFromEvent } from '../budget/ledger.js';
import type { Grader } from '../verify/grader.js';
import { ErrorTracker, errorsPath } from '../verify/error-tracker.js';
import type { RunControl } from './control.js';
import { createEmitter } from './emitter.js';
import { Iterations } from './iterations.js';
import { recordEnd, recordStart, type RunEnding, type RunFacts, type RunTotals } from './record.js';

export interface RunDeps {
  definition: LoopDefinition;
  runId: string;
  trigger: string;
  /** Made inside the run so a missing key or a bad grader is recorded as the run's failure. */
  createProvider: () => Promise<ModelProvider>;
  createGraders: () => Grader[];
  worktrees: Worktrees;
  paths: StatePaths;
  index: StateIndex;
  control: RunControl;
  onEvent?: (event: LoopEvent) => void;
  /** Prices each call; default: the price table for the loop's provider (budget/prices.ts). */
  price?: (model: string, usage: TokenUsage) => number | null;
  /** The clock of the minutes budget (milliseconds); tests pass their own. */
  now?: () => number;
  /** Tokens one iteration's conversation should stay well under (old tool results are trimmed). */
  contextBudgetTokens?: number;
  /** Limits for the run tool; defaults suit a test suite. */
  runTimeoutMs?: number;
  outputCap?: number;
}

export interface RunResult extends RunEnding, RunTotals {
  run: string;
  branch: string;
  worktree: string;
  tracePath: string;
  summaryPath: string;
}

export async function executeRun(deps: RunDeps): Promise<RunResult> {
  const def = deps.definition;
  const started = Date.now();
  const facts: RunFacts = {
    definition: def,
    run: deps.runId,
    trigger: deps.trigger,
    startedAt: new Date(started).toISOString(),
  };
  const tracePath = deps.paths.trace(def.name, deps.runId);
  const summaryPath = deps.paths.runSummary(def.name, deps.runId);
  const trace = await TraceWriter.open(tracePath);
  let traceError: unknown;
  const price = deps.price ?? pricerFor(def.agent.provider);
  const warnUnpriced = unpricedWarnings(def.budget, (message) =>
    emitter.emit({ type: 'run.error', kind: 'budget.unpriced', message }),
  );
  // Classifies errors as they are emitted; its error.recorded events follow the event that caused them.
  const errors = await ErrorTracker.open(errorsPath(deps.paths, def.name));
  // Instructions given with `!` reach the agent inside its turn; the run also keeps them in MEMORY.md.
  const heard: string[] = [];
  const emitter = createEmitter(def.name, deps.runId, (event) => {
    if (event.type === 'instruction.received' && event.mode === 'now') heard.push(event.text);
    trace.append(event).catch((err: unknown) => {
      traceError ??= err;
    });
    // The spend ledger, in memory until the iteration ends (index.flush) or the run is recorded.
    if (event.type === 'model.response') {
      const call = callFromEvent(event, price);
      deps.index.recordCall(call);
      if (call.usd === null) warnUnpriced(call.model);
    }
    deps.onEvent?.(event);
    for (const body of errors.observe(event)) emitter.emit(body);
  });
  const budget = new BudgetTracker(def.budget, deps.now);
  // The minutes deadline stands still while the run waits for a person (a pause).
  const detachClock = deps.control.attachClock(budget.deadline);
  const graderLog: RunSummary['graders'] = [];
  let ending: RunEnding;

  try {
    const provider = await deps.createProvider();
    const graders = deps.createGraders();
    const worktree = await deps.worktrees.create({
      loop: def.name,
      run: deps.runId,
      base: def.workspace.base,
    });
    facts.worktree = worktree;
    emitter.emit({
      type: 'run.started',
      trigger: deps.trigger,
      base: def.workspace.base,
      branch: worktree.branch,
      worktree: worktree.path,
      budget: { ...def.budget },
    });
    await recordStart(deps.index, facts);
    const run = new Iterations(
      { ...deps, price, provider, graders, errors },
      worktree,
      emitter,
      budget,
      graderLog,
      heard,
    );
    ending = await run.untilDone();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    emitter.emit({ type: 'run.error', kind: 'run', message });
    ending = { outcome: 'failed', reason: message };
  }

  detachClock();
  budget.deadline.dispose();
  const totals: RunTotals = {
    iterations: budget.iterations,
    toolCalls: budget.toolCalls,
    usage: budget.usage,
    spend: { usd: budget.usd, unpricedCalls: budget.unpricedCalls },
  };
  const branch = facts.worktree?.branch ?? '';
  const worktreePath = facts.worktree?.path ?? '';
  emitter.emit({
    type: 'run.ended',
    ...ending,
    ...totals,
    branch,
    worktree: worktreePath,
    durationMs: Date.now() - started,
  });
  await trace.close();
  await errors.flush();
  await recordEnd(deps.index, summaryPath, facts, ending, totals, graderLog);
  // The run itself is recorded; a trace that could not be written is still an error the caller must see.
  if (traceError instanceof Error) throw traceError;
  if (traceError !== undefined) throw new Error('the trace could not be written');
  return { run: deps.runId, ...ending, ...totals, branch, worktree: worktreePath, tracePath, summaryPath };
}
