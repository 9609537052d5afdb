/**
 * One run of a loop: a worktree, then iterations of (context → agent turn → graders → record)
 * until the graders pass, a cap is reached, a person stops it, or an error ends it. Every run
 * ends with exactly one outcome, and leaves a trace, a summary, memory and a branch behind.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { BudgetCap, LoopEvent, Outcome, TokenUsage } from '../events.js';
import type { ModelProvider } from '../../models/provider.js';
import type { Worktree, Worktrees } from '../../workspace/worktrees.js';
import type { StatePaths } from '../../state/paths.js';
import type { StateIndex } from '../../state/index-db.js';
import type { MemoryDoc } from '../../state/memory.js';
import { readMemory, writeMemory } from '../../state/memory.js';
import { TraceWriter } from '../../state/trace.js';
import { writeRunSummary, type RunSummary } from '../../state/summary.js';
import { createToolbox } from '../../tools/toolbox.js';
import { BudgetTracker, describeBreach, type BudgetBreach } from '../budget/caps.js';
import { pricerFor, unpricedWarnings } from '../budget/prices.js';
import { callFromEvent } from '../budget/ledger.js';
import type { Message } from '../../models/provider.js';
import { foldIteration } from './compress.js';
import type { Grader } from '../verify/grader.js';
import { gradeIteration } from '../verify/grade-iteration.js';
import { ErrorTracker, errorsPath } from '../verify/error-tracker.js';
import { RegressionTracker } from '../verify/regressions.js';
import { protectedPaths as graderProtectedPaths } from '../verify/protect.js';
import { runSubAgentTurn } from '../verify/sub-agent.js';
import { resultsPath } from '../../state/results-tsv.js';
import { assembleContext, memoryForPrompt } from './context.js';
import { runAgentTurn, type TurnEnd } from './agent-turn.js';
import type { RunControl } from './control.js';
import { createEmitter, type Emitter } from './emitter.js';
import { ModelCaller } from './model-caller.js';

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

export interface RunResult {
  run: string;
  outcome: Outcome;
  reason: string;
  iterations: number;
  toolCalls: number;
  usage: TokenUsage;
  branch: string;
  worktree: string;
  budget?: { cap: BudgetCap; limit: number; used: number };
  tracePath: string;
  summaryPath: string;
}

interface Ending {
  outcome: Outcome;
  reason: string;
  budget?: BudgetBreach;
}

export async function executeRun(deps: RunDeps): Promise<RunResult> {
  const def = deps.definition;
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
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
  const emitter = createEmitter(def.name, deps.runId, (event) => {
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
  let worktree: Worktree | undefined;
  let ending: Ending;

  try {
    const provider = await deps.createProvider();
    const graders = deps.createGraders();
    worktree = await deps.worktrees.create({ loop: def.name, run: deps.runId, base: def.workspace.base });
    emitter.emit({
      type: 'run.started',
      trigger: deps.trigger,
      base: def.workspace.base,
      branch: worktree.branch,
      worktree: worktree.path,
      budget: { ...def.budget },
    });
    await deps.index.upsertRun({
      loop: def.name,
      run: deps.runId,
      status: 'running',
      trigger: deps.trigger,
      startedAt,
      iterations: 0,
      branch: worktree.branch,
      worktree: worktree.path,
    });
    ending = await iterate(
      { ...deps, price, provider, graders, errors },
      worktree,
      emitter,
      budget,
      graderLog,
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    emitter.emit({ type: 'run.error', kind: 'run', message });
    ending = { outcome: 'failed', reason: message };
  }

  const branch = worktree?.branch ?? '';
  const worktreePath = worktree?.path ?? '';
  emitter.emit({
    type: 'run.ended',
    outcome: ending.outcome,
    reason: ending.reason,
    iterations: budget.iterations,
    toolCalls: budget.toolCalls,
    usage: budget.usage,
    branch,
    worktree: worktreePath,
    ...(ending.budget ? { budget: ending.budget } : {}),
    durationMs: Date.now() - started,
  });
  const endedAt = new Date().toISOString();
  await trace.close();
  await errors.flush();
  await writeRunSummary(summaryPath, {
    loop: def.name,
    run: deps.runId,
    trigger: deps.trigger,
    outcome: ending.outcome,
    reason: ending.reason,
    startedAt,
    endedAt,
    iterations: budget.iterations,
    toolCalls: budget.toolCalls,
    usage: budget.usage,
    base: def.workspace.base,
    baseSha: worktree?.baseSha ?? '',
    branch,
    worktree: worktreePath,
    ...(ending.budget ? { budget: ending.budget } : {}),
    graders: graderLog,
  });
  await deps.index.upsertRun({
    loop: def.name,
    run: deps.runId,
    status: ending.outcome,
    trigger: deps.trigger,
    startedAt,
    endedAt,
    iterations: budget.iterations,
    branch,
    worktree: worktreePath,
    reason: ending.reason,
    usage: budget.usage,
  });
  // The run itself is recorded; a trace that could not be written is still an error the caller must see.
  if (traceError instanceof Error) throw traceError;
  if (traceError !== undefined) throw new Error('the trace could not be written');
  return {
    run: deps.runId,
    outcome: ending.outcome,
    reason: ending.reason,
    iterations: budget.iterations,
    toolCalls: budget.toolCalls,
    usage: budget.usage,
    branch,
    worktree: worktreePath,
    ...(ending.budget ? { budget: ending.budget } : {}),
    tracePath,
    summaryPath,
  };
}

interface ReadyDeps extends RunDeps {
  price: NonNullable<RunDeps['price']>;
  provider: ModelProvider;
  graders: Grader[];
  errors: ErrorTracker;
}

async function iterate(
  deps: ReadyDeps,
  worktree: Worktree,
  emitter: Emitter,
  budget: BudgetTracker,
  graderLog: RunSummary['graders'],
): Promise<Ending> {
  const def = deps.definition;
  const memoryPath = deps.paths.memory(def.name);
  const memory: MemoryDoc = (await readMemory(memoryPath)) ?? {
    goal: def.description || firstLine(def.task),
    progress: [],
    lastFeedback: '',
    corrections: [],
    notes: '',
  };
  let feedback = memory.lastFeedback;
  const tools = createToolbox(def.agent.tools);
  const caller = new ModelCaller({
    provider: deps.provider,
    definition: def,
    budget,
    control: deps.control,
    emitter,
    price: deps.price,
    worktree: worktree.path,
  });
  const specs = tools.map((t) => t.spec);
  // The last iteration's conversation, folded into a handoff only when another iteration follows.
  let toFold: { system: string; messages: Message[] } | undefined;
  const protectedPaths = await graderProtectedPaths(def, worktree.path);
  const regressions = new RegressionTracker();

  for (;;) {
    if (deps.control.stopRequested) return { outcome: 'stopped', reason: deps.control.stopMessage };
    const breach = budget.checkIteration();
    if (breach) return { outcome: 'budget', reason: describeBreach(breach), budget: breach };

    budget.iterations += 1;
    const n = budget.iterations;
    emitter.setIteration(n);
    emitter.emit({ type: 'iteration.started' });
    if (toFold) {
      const fold = await foldIteration({
        caller,
        tools: specs,
        system: toFold.system,
        transcript: toFold.messages,
      });
      if (fold.kind === 'stopped') return { outcome: 'stopped', reason: deps.control.stopMessage };
      if (fold.kind === 'budget')
        return { outcome: 'budget', reason: describeBreach(fold.breach), budget: fold.breach };
      // Without a handoff the progress lines stand alone; an older handoff would be stale.
      if (fold.kind === 'handoff') memory.handoff = fold.text;
      else delete memory.handoff;
      const bytes = await writeMemory(memoryPath, memory, def.memory.max_bytes);
      emitter.emit({ type: 'memory.updated', path: memoryPath, bytes });
    }

    const instructions = deps.control.takeQueued();
    for (const text of instructions) {
      emitter.emit({ type: 'instruction.received', text, mode: 'next' });
      memory.corrections.push(text);
    }
    const context = assembleContext(def, {
      iteration: n,
      maxIterations: def.budget.iterations,
      memory: memoryForPrompt(memory, def.memory.max_bytes),
      feedback,
      instructions,
    });
    emitter.emit({ type: 'context.assembled', parts: context.parts, instructions });

    const turn: TurnEnd = await runAgentTurn(
      {
        caller,
        tools,
        toolContext: {
          worktree: worktree.path,
          runTimeoutMs: deps.runTimeoutMs ?? 10 * 60_000,
          outputCap: deps.outputCap ?? 16_000,
          protectedPaths,
        },
        budget,
        control: deps.control,
        emitter,
        contextBudgetTokens: deps.contextBudgetTokens,
      },
      context.system,
      context.user,
    );
    // Whatever the turn did stays on the run's branch, even when the run ends here.
    await deps.worktrees.commitAll(worktree.path, `loops: ${def.name} iteration ${n}`);

    if (turn.kind === 'stopped') return { outcome: 'stopped', reason: deps.control.stopMessage };
    if (turn.kind === 'budget') {
      return { outcome: 'budget', reason: describeBreach(turn.breach), budget: turn.breach };
    }
    if (turn.kind === 'failed') {
      return { outcome: 'failed', reason: `${deps.provider.name}: ${turn.error.message}` };
    }

    const grading = await gradeIteration(
      deps.graders,
      {
        worktree: worktree.path,
        baseSha: worktree.baseSha,
        signal: deps.control.stopSignal,
        loop: def.name,
        run: deps.runId,
        iteration: n,
        task: def.task,
        definition: def,
        transcript: turn.messages,
        callModel: (opts) => caller.call(opts),
        runSubAgent: (request) =>
          runSubAgentTurn(
            {
              caller,
              tools: [],
              toolContext: {
                worktree: worktree.path,
                runTimeoutMs: deps.runTimeoutMs ?? 10 * 60_000,
                outputCap: deps.outputCap ?? 16_000,
                protectedPaths,
              },
              budget,
              control: deps.control,
              emitter,
              contextBudgetTokens: deps.contextBudgetTokens,
            },
            request,
          ),
        emit: (body) => emitter.emit(body),
        resultsPath: resultsPath(deps.paths, def.name),
        worktrees: deps.worktrees,
      },
      emitter,
      deps.control,
      { regressions, errors: deps.errors },
    );
    for (const { verdict } of grading.verdicts) {
      graderLog.push({
        iteration: n,
        name: verdict.name,
        passed: verdict.passed,
        ...(verdict.score === undefined ? {} : { score: verdict.score }),
        feedback: verdict.feedback,
      });
    }
    if (grading.stopped) return { outcome: 'stopped', reason: deps.control.stopMessage };
    const { verified, passed, failed } = grading;
    feedback = grading.feedback;

    const repeated = deps.errors.repeatedNote(n);
    memory.progress.push(
      progressLine(n, turn.text, passed, failed, deps.graders.length) + (repeated ? `; ${repeated}` : ''),
    );
    memory.lastFeedback = feedback;
    const bytes = await writeMemory(memoryPath, memory, def.memory.max_bytes);
    emitter.emit({ type: 'memory.updated', path: memoryPath, bytes });
    emitter.emit({ type: 'iteration.ended', verified, passed, failed });
    await deps.index.flush();
    await deps.errors.flush();
    toFold = { system: context.system, messages: turn.messages };

    if (verified) {
      const reason =
        deps.graders.length === 0
          ? 'no graders are configured: accepted when the agent ended its turn'
          : `all ${deps.graders.length} grader(s) passed on iteration ${n}`;
      return { outcome: 'verified', reason };
    }
  }
}

function progressLine(n: number, text: string, passed: string[], failed: string[], graders: number): string {
  const said = firstLine(text).slice(0, 160);
  const verdict =
    graders === 0
      ? 'no graders'
      : failed.length === 0
        ? `all graders passed`
        : `failed: ${failed.join(', ')}${passed.length ? `; passed: ${passed.join(', ')}` : ''}`;
  return `Iteration ${n}: ${said || '(no summary)'} → ${verdict}`;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}
