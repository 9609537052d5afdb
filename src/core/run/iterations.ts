/**
 * The iterations of one run: fold the last one into memory, assemble the context, let the agent work,
 * commit, restore protected files, grade, and record, until the graders pass or something ends the run.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { Message, ModelProvider } from '../../models/provider.js';
import type { Worktree } from '../../workspace/worktrees.js';
import type { Confinement, Sandbox } from '../../process/sandbox.js';
import type { RunSummary } from '../../state/summary.js';
import { resultsPath } from '../../state/results-tsv.js';
import { createToolbox } from '../../tools/toolbox.js';
import type { ToolContext } from '../../tools/types.js';
import { describeBreach, type BudgetBreach, type BudgetTracker } from '../budget/caps.js';
import type { Grader } from '../verify/grader.js';
import { gradeIteration } from '../verify/grade-iteration.js';
import type { ErrorTracker } from '../verify/error-tracker.js';
import { RegressionTracker } from '../verify/regressions.js';
import { protectedPaths as graderProtectedPaths, restoreProtected } from '../verify/protect.js';
import { runSubAgentTurn } from '../verify/sub-agent.js';
import { firstLine } from '../text.js';
import { foldIteration } from './compress.js';
import { assembleContext, memoryForPrompt } from './context.js';
import { runAgentTurn, type TurnDeps } from './agent-turn.js';
import type { Emitter } from './emitter.js';
import { keepMemoryAtStart, MemoryKeeper } from './memory-keeper.js';
import { openRunConnectors } from './connectors.js';
import { runSetup } from './setup.js';
import { cliAgentNotes } from '../../models/cli-notes.js';

/** One workspace.setup command may take this long (an install on a cold cache included). */
const SETUP_TIMEOUT_MS = 20 * 60_000;
import { ModelCaller } from './model-caller.js';
import type { RunEnding } from './record.js';
import type { RunDeps } from './run.js';
import type { SafePointVerdict } from './observers.js';
import type { ApprovalGate } from '../approval/gate.js';

export interface ReadyDeps extends RunDeps {
  price: NonNullable<RunDeps['price']>;
  provider: ModelProvider;
  graders: Grader[];
  errors: ErrorTracker;
  /** Puts what the run's observers hold in memory (the ledger, error signatures) on disk. */
  flushRecords: () => Promise<void>;
  /** Where the run tool and the command and metric graders run worktree code. */
  sandbox: Sandbox & { confinement: Confinement };
  /** What the observers (the stall detector) ask for after an iteration. */
  atSafePoint: () => SafePointVerdict | undefined;
  /** Tool calls that match `approve:` rules wait here for a person. */
  gate: ApprovalGate;
}

/** The iterations of one run, and what they carry from one to the next. */
export class Iterations {
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
      run: deps.runId,
      ...(deps.callGate ? { callGate: deps.callGate } : {}),
    });
    this.turnDeps = {
      caller: this.caller,
      tools: createToolbox(this.def.agent.tools),
      toolContext: this.toolContext([]),
      budget,
      control: deps.control,
      emitter,
      contextBudgetTokens: deps.contextBudgetTokens,
      beforeTool: (call) => deps.gate.check(call, emitter, deps.control),
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
      sandbox: this.deps.sandbox,
    };
  }

  async untilDone(): Promise<RunEnding> {
    const def = this.def;
    // What the run started from, kept so the task can be replayed from the same memory (hill-climbing).
    await keepMemoryAtStart(this.memoryPath, this.deps.paths.memoryAtStart(def.name, this.deps.runId));
    this.memory = await MemoryKeeper.open(this.memoryPath, () => ({
      goal: def.description || firstLine(def.task),
      progress: [],
      lastFeedback: '',
      corrections: [],
      notes: '',
    }));
    this.feedback = this.memory.view.lastFeedback;
    // What validate says of a setting the agent ignores (Codex and OPENAI_BASE_URL), said where runs are
    // watched. Not 'provider.*': the error tracker counts those kinds as the provider's errors.
    for (const message of cliAgentNotes(def, this.deps.env ?? process.env))
      this.emitter.emit({ type: 'run.error', kind: 'agent.setting', message });
    await runSetup({
      definition: def,
      worktree: this.worktree.path,
      sandbox: this.deps.sandbox,
      emitter: this.emitter,
      env: this.deps.env ?? process.env,
      signal: AbortSignal.any([this.deps.control.stopSignal, this.budget.deadline.signal]),
      timeoutMs: () => Math.max(1, Math.min(SETUP_TIMEOUT_MS, this.budget.deadline.remainingMs())),
      checkout: {
        baseSha: this.worktree.baseSha,
        head: () => this.deps.worktrees.headSha(this.worktree.path),
        resetHard: (sha) => this.deps.worktrees.resetHard(this.worktree.path, sha),
      },
    });
    const connectors = await openRunConnectors(
      def,
      this.worktree.path,
      this.emitter,
      this.deps.env ?? process.env,
      this.deps.sandbox,
      this.deps.gate,
    );
    this.turnDeps.tools = [...this.turnDeps.tools, ...connectors.tools];
    let ending: RunEnding;
    try {
      ending = await this.iterate();
    } finally {
      await connectors.close();
    }
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
    // Before any change: graders that compare with the original code (a metric's baseline) measure it.
    for (const grader of deps.graders) await grader.prepare?.(this.gradeContext(0, []));
    const baseTree = await deps.worktrees.headTree(this.worktree.path);

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
        confinement: deps.sandbox.confinement,
        ...(deps.context ? { trigger: deps.context } : {}),
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
        { ...this.gradeContext(n, turn.messages), protectedPaths },
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
      // The iteration's calls and errors are all recorded by now: their files go to disk while
      // MEMORY.md does, so the fsyncs overlap (what the events below add is flushed next time).
      const records = deps.flushRecords();
      records.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      await this.saveMemory();
      emitter.emit({
        type: 'iteration.committed',
        commit: await deps.worktrees.headSha(this.worktree.path),
        tree: await deps.worktrees.headTree(this.worktree.path),
        baseTree,
      });
      emitter.emit({
        type: 'iteration.ended',
        verified: grading.verified,
        passed: grading.passed,
        failed: grading.failed,
      });
      await records;
      this.toFold = { system: context.system, messages: turn.messages };

      if (grading.verified) {
        return {
          outcome: 'verified',
          reason: `all ${deps.graders.length} grader(s) passed on iteration ${n}`,
        };
      }
      const ending = await this.applyVerdict(deps.atSafePoint());
      if (ending) return ending;
    }
  }

  /** A stall's action: a note for the next iteration, a wait for a person, or the run's end. */
  private async applyVerdict(verdict: SafePointVerdict | undefined): Promise<RunEnding | undefined> {
    if (verdict === undefined) return undefined;
    if (verdict.kind === 'end') return { outcome: verdict.outcome, reason: verdict.reason };
    if (verdict.kind === 'nudge') {
      this.feedback = [this.feedback, verdict.note].filter(Boolean).join('\n\n');
      return undefined;
    }
    const { control } = this.deps;
    control.pause();
    this.emitter.emit({ type: 'run.paused' });
    const waited = await control.waitWhilePaused(verdict.timeoutMs);
    if (waited === 'stopped') return this.stopped();
    if (waited === 'timeout') {
      const waitedFor = formatMinutes(verdict.timeoutMs);
      return {
        outcome: 'stalled',
        reason: `${verdict.reason}; paused, and nobody resumed it within ${waitedFor}`,
      };
    }
    this.emitter.emit({ type: 'run.resumed' });
    return undefined;
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
    if (fold.kind === 'none' && fold.malformed) {
      this.emitter.emit(this.deps.errors.record('malformed_output', fold.reason, this.budget.iterations));
    }
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
      // A stop or the run's deadline cuts a grader short.
      signal: AbortSignal.any([deps.control.stopSignal, this.budget.deadline.signal]),
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
      sandbox: deps.sandbox,
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

function formatMinutes(ms: number): string {
  const minutes = ms / 60_000;
  return minutes >= 1 ? `${Math.round(minutes * 10) / 10} minute(s)` : `${ms / 1000} s`;
}
