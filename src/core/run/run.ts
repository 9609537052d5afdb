/**
 * One run of a loop: a worktree, then iterations of (context → agent turn → graders → record)
 * until the graders pass, a cap is reached, a person stops it, or an error ends it. Every run
 * ends with exactly one outcome, and leaves a trace, a summary, memory and a branch behind.
 */
import path from 'node:path';
import type { LoopDefinition } from '../definition/schema.js';
import type { LoopEvent, LoopEventBody, RunSpend, TokenUsage } from '../events.js';
import type { ModelProvider } from '../../models/provider.js';
import { describeDirty, dirtyCheckout } from '../../workspace/dirty.js';
import type { Worktree, Worktrees } from '../../workspace/worktrees.js';
import type { StatePaths } from '../../state/paths.js';
import type { StateIndex } from '../../state/index-db.js';
import { TRACE_FORMAT, TraceWriter } from '../../state/trace.js';
import type { RunSummary } from '../../state/summary.js';
import { ledgerFor, type RunSpendLog, type SpendLedger } from '../../state/spend-ledger.js';
import { BudgetTracker } from '../budget/caps.js';
import { pricerFor, unpricedWarnings } from '../budget/prices.js';
import type { BudgetConfig } from '../definition/schema.js';
import { callFromEvent } from '../budget/ledger.js';
import type { Grader } from '../verify/grader.js';
import { RunSandbox } from '../../process/run-sandbox.js';
import { ErrorTracker, errorsPath } from '../verify/error-tracker.js';
import type { RunControl } from './control.js';
import { createEmitter } from './emitter.js';
import { ObserverList, type RunObserver } from './observers.js';
import { Iterations } from './iterations.js';
import { ApprovalGate } from '../approval/gate.js';
import { StallDetector } from '../stall/detector.js';
import { unenforcedRuleNotes } from '../approval/definition-check.js';
import type { TriggerContext } from '../trigger-context.js';
import type { CallGate } from '../budget/call-gate.js';
import { recordEnd, recordStart, type RunEnding, type RunFacts, type RunTotals } from './record.js';
import { correctionsLog } from './corrections-log.js';

export interface RunDeps {
  definition: LoopDefinition;
  runId: string;
  trigger: string;
  /** Made inside the run so a missing key or a bad grader is recorded as the run's failure. */
  createProvider: (sandbox: RunSandbox) => Promise<ModelProvider>;
  /**
   * Opens the run's sandbox (process/run-sandbox.ts), before anything else, so one that cannot start
   * fails the run before the first model call. Default: the loop's `sandbox:` setting, failing closed.
   */
  openSandbox?: () => Promise<RunSandbox>;
  createGraders: () => Grader[];
  worktrees: Worktrees;
  paths: StatePaths;
  index: StateIndex;
  control: RunControl;
  onEvent?: (event: LoopEvent) => void;
  /**
   * Whether a person can answer: approvals are asked (else denied at once) and a stall's pause waits
   * (else the run ends stalled). Default false, so a run with nobody watching never hangs.
   */
  attended?: boolean;
  /** The run's approval gate, made by the supervisor so answers reach it; default made from the loop. */
  approvals?: ApprovalGate;
  /** loops' own environment: where named variables (an MCP server's token, say) come from. */
  env?: NodeJS.ProcessEnv;
  /** More observers of the run's events (the stall detector, telemetry), made once the run is known. */
  observers?: (run: { definition: LoopDefinition; run: string }) => RunObserver[];
  /** Prices each call; default: the price table for the loop's provider (budget/prices.ts). */
  price?: (model: string, usage: TokenUsage) => number | null;
  /** The clock of the minutes budget (milliseconds); tests pass their own. */
  now?: () => number;
  /** Tokens one iteration's conversation should stay well under (old tool results are trimmed). */
  contextBudgetTokens?: number;
  /** Limits for the run tool; defaults suit a test suite. */
  runTimeoutMs?: number;
  outputCap?: number;
  /** The spend ledger (one per state folder and process); default: the shared one for `paths`. */
  ledger?: SpendLedger;
  /** `loops resume`: continue another run from its last completed iteration (commands/resume.ts). */
  resume?: ResumePoint;
  /** What started the run: recorded in run.started and the index (replayable), shown to the agent. */
  context?: TriggerContext;
  /** Checked before every model call after the run's own caps (the fleet's caps across all loops). */
  callGate?: CallGate;
}

/** Where a resumed run starts: the old run's last completed iteration, and its counters. */
export interface ResumePoint {
  from: string;
  /** The commit the new branch starts at (the state after the last completed iteration). */
  commit: string;
  /** The old run's base commit: diffs and protected files stay measured from it. */
  baseSha: string;
  iterations: number;
  toolCalls: number;
  usage: TokenUsage;
  spend: RunSpend;
}

export interface RunResult extends RunEnding, RunTotals {
  run: string;
  branch: string;
  worktree: string;
  tracePath: string;
  summaryPath: string;
}

/** The worktree lacks what the checkout has not committed: say which of the loop's files that is. */
async function warnIfDirty(deps: RunDeps, emitter: ReturnType<typeof createEmitter>): Promise<void> {
  const repoRoot = deps.worktrees.repoRoot;
  const stateDir = path.relative(repoRoot, deps.paths.root).split(path.sep).join('/');
  const dirty = await dirtyCheckout(repoRoot, deps.definition, [stateDir]).catch(() => undefined);
  if (dirty) emitter.emit({ type: 'run.error', kind: 'workspace.dirty', message: describeDirty(dirty) });
}

export async function executeRun(deps: RunDeps): Promise<RunResult> {
  const def = deps.definition;
  const started = Date.now();
  const facts: RunFacts = {
    definition: def,
    run: deps.runId,
    trigger: deps.trigger,
    startedAt: new Date(started).toISOString(),
    ...(deps.resume ? { resumedFrom: deps.resume.from } : {}),
    ...(deps.context ? { context: deps.context } : {}),
  };
  const tracePath = deps.paths.trace(def.name, deps.runId);
  const summaryPath = deps.paths.runSummary(def.name, deps.runId);
  const trace = await TraceWriter.open(tracePath);
  const price = deps.price ?? pricerFor(def.agent.provider);
  // Classifies errors as they are emitted; its error.recorded events follow the event that caused them.
  const errors = await ErrorTracker.open(errorsPath(deps.paths, def.name));
  // Instructions given with `!` reach the agent inside its turn; they and a person's approval answers
  // are kept in MEMORY.md as corrections.
  const heard: string[] = [];
  const observers = new ObserverList((body) => emitter.emit(body));
  const emitter = createEmitter(def.name, deps.runId, observers.dispatch);
  const traceObserver = traceRecorder(trace);
  const spend = spendRecorder(price, def.budget, deps.control);
  observers
    .add(correctionsLog(heard))
    .add(traceObserver)
    .add(spend)
    .add({ observe: (event) => deps.onEvent?.(event) })
    .add({ observe: (event) => errors.observe(event), flush: () => errors.flush() })
    .add(StallDetector.forDefinition(def, deps.attended ?? false));
  for (const observer of deps.observers?.({ definition: def, run: deps.runId }) ?? [])
    observers.add(observer);
  const budget = new BudgetTracker(def.budget, deps.now);
  // The minutes deadline stands still while the run waits for a person (a pause).
  const detachClock = deps.control.attachClock(budget.deadline);
  const gate = deps.approvals ?? ApprovalGate.forDefinition(def, deps.runId, deps.attended ?? false);
  if (deps.resume) restoreCounters(budget, deps.resume);
  const graderLog: RunSummary['graders'] = [];
  let ending: RunEnding;
  let sandbox: RunSandbox | undefined;

  try {
    sandbox = await (
      deps.openSandbox ??
      (() => RunSandbox.open({ definition: def, repoRoot: deps.worktrees.repoRoot, env: process.env }))
    )();
    // Every billed call goes to this run's spend file as it is billed (state/spend-ledger.ts).
    spend.attach(await (deps.ledger ?? ledgerFor(deps.paths)).openRun(def.name, deps.runId));
    const provider = await deps.createProvider(sandbox);
    const graders = deps.createGraders();
    const worktree = await createWorktree(deps);
    facts.worktree = worktree;
    await sandbox.enter(worktree.path);
    facts.sandbox = sandbox.confinement.description;
    const resume = deps.resume;
    emitter.emit({
      type: 'run.started',
      trigger: deps.trigger,
      base: def.workspace.base,
      ...(worktree.baseBranch === undefined ? {} : { baseBranch: worktree.baseBranch }),
      baseSha: worktree.baseSha,
      branch: worktree.branch,
      worktree: worktree.path,
      budget: { ...def.budget },
      sandbox: sandbox.confinement,
      format: TRACE_FORMAT,
      ...(deps.context ? { context: deps.context } : {}),
      ...(resume
        ? {
            resumedFrom: resume.from,
            restored: {
              iterations: resume.iterations,
              toolCalls: resume.toolCalls,
              usage: resume.usage,
              spend: resume.spend,
              commit: resume.commit,
            },
          }
        : {}),
    });
    // The demo's fallback: an unconfined run says so where people look, not only in run.started.
    if (sandbox.warning !== undefined)
      emitter.emit({ type: 'run.error', kind: 'sandbox', message: sandbox.warning });
    await recordStart(deps.index, facts);
    await warnIfDirty(deps, emitter);
    for (const message of unenforcedRuleNotes(def))
      emitter.emit({ type: 'run.error', kind: 'approval.unenforced', message });
    const run = new Iterations(
      {
        ...deps,
        price,
        provider,
        graders,
        errors,
        sandbox,
        gate,
        flushRecords: () => observers.flush(),
        atSafePoint: () => observers.atSafePoint(),
      },
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
  await sandbox?.dispose();

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
  await observers.flush();
  await observers.close();
  await recordEnd(deps.index, summaryPath, facts, ending, totals, graderLog);
  // The run itself is recorded; a trace that could not be written is still an error the caller must see.
  const traceError = traceObserver.error();
  if (traceError instanceof Error) throw traceError;
  if (traceError !== undefined) throw new Error('the trace could not be written');
  return { run: deps.runId, ...ending, ...totals, branch, worktree: worktreePath, tracePath, summaryPath };
}

/** Keeps the `!` instructions the agent turn delivered, for MEMORY.md. */
/** Appends every event to the trace file as it happens; a write error is kept for the caller. */
function traceRecorder(trace: TraceWriter): RunObserver & { error(): unknown } {
  let failure: unknown;
  return {
    observe(event) {
      trace.append(event).catch((err: unknown) => {
        failure ??= err;
      });
    },
    close: () => trace.close(),
    error: () => failure,
  };
}

/** A resumed run's branch starts at the old run's last completed iteration; its base stays the old base. */
async function createWorktree(deps: RunDeps): Promise<Worktree> {
  const def = deps.definition;
  const resume = deps.resume;
  const worktree = await deps.worktrees.create({
    loop: def.name,
    run: deps.runId,
    base: resume ? resume.baseSha : def.workspace.base,
  });
  if (resume && resume.commit !== worktree.baseSha)
    await deps.worktrees.resetHard(worktree.path, resume.commit);
  return worktree;
}

function restoreCounters(budget: BudgetTracker, resume: ResumePoint): void {
  budget.iterations = resume.iterations;
  budget.toolCalls = resume.toolCalls;
  budget.usage = { ...resume.usage };
  budget.usd = resume.spend.usd;
  budget.unpricedCalls = resume.spend.unpricedCalls;
}

/**
 * Every billed model call into the run's spend file, written before the event reaches the next
 * observer; an unpriced model is warned about once. A call that cannot be recorded stops the run:
 * spending on without a record would break the ledger's promise.
 */
function spendRecorder(
  price: (model: string, usage: TokenUsage) => number | null,
  budget: BudgetConfig,
  control: RunControl,
): RunObserver & { attach(log: RunSpendLog): void } {
  let log: RunSpendLog | undefined;
  let answers: LoopEventBody[] = [];
  const warnUnpriced = unpricedWarnings(budget, (message) => {
    answers.push({ type: 'run.error', kind: 'budget.unpriced', message });
  });
  return {
    attach(l) {
      log = l;
    },
    observe(event) {
      if (event.type !== 'model.response') return;
      const call = callFromEvent(event, price);
      answers = [];
      try {
        if (!log) throw new Error('the spend ledger is not open');
        log.record(call);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        control.stop(`the spend ledger could not record a call: ${message}`);
        answers.push({ type: 'run.error', kind: 'ledger', message });
      }
      if (call.usd === null) warnUnpriced(call.model);
      return answers;
    },
    flush: async () => log?.flush(),
    close: async () => log?.close(),
  };
}
