/**
 * One run of a loop: a worktree, then iterations of (context → agent turn → graders → record)
 * until the graders pass, a cap is reached, a person stops it, or an error ends it. Every run
 * ends with exactly one outcome, and leaves a trace, a summary, memory and a branch behind.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { LoopEvent, TokenUsage } from '../events.js';
import type { Message, ModelProvider } from '../../models/provider.js';
import type { Worktree, Worktrees } from '../../workspace/worktrees.js';
import type { StatePaths } from '../../state/paths.js';
import type { StateIndex } from '../../state/index-db.js';
import { TraceWriter } from '../../state/trace.js';
import type { RunSummary } from '../../state/summary.js';
import { resultsPath } from '../../state/results-tsv.js';
import { createToolbox } from '../../tools/toolbox.js';
import type { ToolContext } from '../../tools/types.js';
import { BudgetTracker, describeBreach, type BudgetBreach } from '../budget/caps.js';
import { pricerFor, unpricedWarnings } from '../budget/prices.js';
import { callFromEvent } from '../budget/ledger.js';
import type { Grader } from '../verify/grader.js';
import { gradeIteration } from '../verify/grade-iteration.js';
import { ErrorTracker, errorsPath } from '../verify/error-tracker.js';
import { RegressionTracker } from '../verify/regressions.js';
import { protectedPaths as graderProtectedPaths, restoreProtected } from '../verify/protect.js';
import { runSubAgentTurn } from '../verify/sub-agent.js';
import { firstLine } from '../text.js';
import { foldIteration } from './compress.js';
import { assembleContext, memoryForPrompt } from './context.js';
import { runAgentTurn, type TurnDeps } from './agent-turn.js';
import type { RunControl } from './control.js';
import { createEmitter, type Emitter } from './emitter.js';
import { MemoryKeeper } from './memory-keeper.js';
import { ModelCaller } from './model-caller.js';
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

interface ReadyDeps extends RunDeps {
  price: NonNullable<RunDeps['price']>;
  provider: ModelProvider;
  graders: Grader[];
  errors: ErrorTracker;
}

/** The iterations of one run, and what they carry from one to the next. */
class Iterations {
  private readonly def: LoopDefinition;
  private readonly caller: ModelCaller;
  private readonly turnDeps: TurnDeps;
  private readonly regressions = new RegressionTracker();
  private memory!: MemoryKeeper;
  private feedback = '';
  /** The last iteration's conversation, folded into a handoff only when another iteration follows. */
  private toFold: { system: string; messages: Message[] } | undefined;

  constructor(
    private readonly deps: ReadyDeps,
    private readonly worktree: Worktree,
    private readonly emitter: Emitter,
    private readonly budget: BudgetTracker,
    private readonly graderLog: RunSummary['graders'],
    /** `!` instructions as the agent turn delivers them (filled by the event sink). */
    private readonly heard: string[],
  ) {
    this.def = deps.definition;
    this.caller = new ModelCaller({
      provider: deps.provider,
      definition: this.def,
      budget,
      control: deps.control,
      emitter,
      price: deps.price,
      worktree: worktree.path,
    });
    this.turnDeps = {
      caller: this.caller,
      tools: createToolbox(this.def.agent.tools),
      toolContext: this.toolContext([]),
      budget,
      control: deps.control,
      emitter,
      contextBudgetTokens: deps.contextBudgetTokens,
    };
  }

  private get memoryPath(): string {
    return this.deps.paths.memory(this.def.name);
  }

  private toolContext(protectedPaths: string[]): Omit<ToolContext, 'signal'> {
    return {
      worktree: this.worktree.path,
      runTimeoutMs: this.deps.runTimeoutMs ?? 10 * 60_000,
      outputCap: this.deps.outputCap ?? 16_000,
      protectedPaths,
    };
  }

  async untilDone(): Promise<RunEnding> {
    const def = this.def;
    this.memory = await MemoryKeeper.open(this.memoryPath, () => ({
      goal: def.description || firstLine(def.task),
      progress: [],
      lastFeedback: '',
      corrections: [],
      notes: '',
    }));
    this.feedback = this.memory.view.lastFeedback;
    const ending = await this.iterate();
    // A person's stop is a decision the hill-climbing loop should learn from, like any other correction.
    if (ending.outcome === 'stopped' && this.budget.iterations > 0) {
      this.memory.addCorrection(`iteration ${this.budget.iterations}: ${ending.reason}`);
      await this.saveMemory();
    }
    return ending;
  }

  private async iterate(): Promise<RunEnding> {
    const { deps, def, budget, emitter } = this;
    const protectedPaths = await graderProtectedPaths(def, this.worktree.path);
    this.turnDeps.toolContext = this.toolContext(protectedPaths);

    for (;;) {
      if (deps.control.stopRequested) return this.stopped();
      const breach = budget.checkIteration();
      if (breach) return budgetEnding(breach);

      budget.iterations += 1;
      const n = budget.iterations;
      emitter.setIteration(n);
      emitter.emit({ type: 'iteration.started' });
      const folded = await this.foldPrevious();
      if (folded) return folded;

      // A `!` given while no model call was in flight (during grading, say) is delivered here, not lost.
      const urgent = deps.control.takeUrgent();
      const queued = deps.control.takeQueued();
      for (const text of urgent) emitter.emit({ type: 'instruction.received', text, mode: 'now' });
      for (const text of queued) emitter.emit({ type: 'instruction.received', text, mode: 'next' });
      const instructions = [...urgent, ...queued];
      for (const text of instructions) this.memory.addCorrection(text);
      const context = assembleContext(def, {
        iteration: n,
        maxIterations: def.budget.iterations,
        memory: memoryForPrompt(this.memory.view, def.memory.max_bytes),
        feedback: this.feedback,
        instructions,
      });
      emitter.emit({ type: 'context.assembled', parts: context.parts, instructions });

      this.heard.length = 0; // those delivered above are already corrections
      const turn = await runAgentTurn(this.turnDeps, context.system, context.user);
      // Instructions a person gave mid-turn (`!`) are corrections too.
      for (const text of this.heard.splice(0)) this.memory.addCorrection(text);
      // Whatever the turn did stays on the run's branch, even when the run ends here.
      await deps.worktrees.commitAll(this.worktree.path, `loops: ${def.name} iteration ${n}`);
      if (turn.kind === 'stopped') return this.stopped();
      if (turn.kind === 'budget') return budgetEnding(turn.breach);
      if (turn.kind === 'failed')
        return { outcome: 'failed', reason: `${deps.provider.name}: ${turn.error.message}` };

      const tampered = await this.restoreTampered(n, protectedPaths);
      const grading = await gradeIteration(
        deps.graders,
        this.gradeContext(n, turn.messages),
        emitter,
        deps.control,
        { regressions: this.regressions, errors: deps.errors },
      );
      for (const { verdict } of grading.verdicts) {
        this.graderLog.push({
          iteration: n,
          name: verdict.name,
          passed: verdict.passed,
          ...(verdict.score === undefined ? {} : { score: verdict.score }),
          feedback: verdict.feedback,
        });
      }
      if (grading.stopped) return this.stopped();
      this.feedback = [tampered, grading.feedback].filter(Boolean).join('\n\n');

      const repeated = deps.errors.repeatedNote(n);
      const line = progressLine(n, turn.text, grading.passed, grading.failed);
      this.memory.addProgress(line + (repeated ? `; ${repeated}` : ''));
      this.memory.setFeedback(this.feedback);
      await this.saveMemory();
      emitter.emit({
        type: 'iteration.ended',
        verified: grading.verified,
        passed: grading.passed,
        failed: grading.failed,
      });
      await deps.index.flush();
      await deps.errors.flush();
      this.toFold = { system: context.system, messages: turn.messages };

      if (grading.verified) {
        return {
          outcome: 'verified',
          reason: `all ${deps.graders.length} grader(s) passed on iteration ${n}`,
        };
      }
    }
  }

  /** Folds the previous iteration into MEMORY.md's handoff (one summary call); an ending if it ends the run. */
  private async foldPrevious(): Promise<RunEnding | undefined> {
    if (!this.toFold) return undefined;
    const fold = await foldIteration({
      caller: this.caller,
      tools: this.turnDeps.tools.map((t) => t.spec),
      system: this.toFold.system,
      transcript: this.toFold.messages,
    });
    if (fold.kind === 'stopped') return this.stopped();
    if (fold.kind === 'budget') return budgetEnding(fold.breach);
    // Without a handoff the progress lines stand alone; an older handoff would be stale.
    this.memory.setHandoff(fold.kind === 'handoff' ? fold.text : undefined);
    await this.saveMemory();
    return undefined;
  }

  /**
   * Protected files the agent changed through a command (the tools refuse direct writes) are put back
   * before grading, recorded as an error, and the agent is told; returns that note, or ''.
   */
  private async restoreTampered(n: number, protectedPaths: string[]): Promise<string> {
    const { deps, worktree } = this;
    const restored = await restoreProtected(deps.worktrees, worktree.path, worktree.baseSha, protectedPaths);
    if (restored.length === 0) return '';
    await deps.worktrees.commitAll(worktree.path, `loops: ${this.def.name} restored protected files`);
    const message = `changed protected file(s) ${restored.join(', ')} through a command; they were restored`;
    this.emitter.emit(deps.errors.record('tool_failure', message, n));
    return `## Protected files restored\nYou changed ${restored.join(', ')}, which the graders (or loops itself) own; they were put back. Fix the work itself, not its checks.`;
  }

  private gradeContext(n: number, transcript: Message[]): Parameters<typeof gradeIteration>[1] {
    const { deps, def, worktree } = this;
    return {
      worktree: worktree.path,
      baseSha: worktree.baseSha,
      signal: deps.control.stopSignal,
      loop: def.name,
      run: deps.runId,
      iteration: n,
      task: def.task,
      definition: def,
      transcript,
      callModel: (opts) => this.caller.call(opts),
      runSubAgent: (request) => runSubAgentTurn({ ...this.turnDeps, tools: [] }, request),
      emit: (body) => this.emitter.emit(body),
      resultsPath: resultsPath(deps.paths, def.name),
      worktrees: deps.worktrees,
    };
  }

  private async saveMemory(): Promise<void> {
    const bytes = await this.memory.save(this.def.memory.max_bytes);
    this.emitter.emit({ type: 'memory.updated', path: this.memoryPath, bytes });
  }

  private stopped(): RunEnding {
    return { outcome: 'stopped', reason: this.deps.control.stopMessage };
  }
}

function budgetEnding(breach: BudgetBreach): RunEnding {
  return { outcome: 'budget', reason: describeBreach(breach), budget: breach };
}

function progressLine(n: number, text: string, passed: string[], failed: string[]): string {
  const said = firstLine(text).slice(0, 160);
  const verdict =
    failed.length === 0
      ? `all graders passed`
      : `failed: ${failed.join(', ')}${passed.length ? `; passed: ${passed.join(', ')}` : ''}`;
  return `Iteration ${n}: ${said || '(no summary)'} → ${verdict}`;
}
