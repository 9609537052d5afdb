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
import type { Grader } from '../verify/grader.js';
import { gradeIteration } from '../verify/grade-iteration.js';
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
  price?: (model: string, usage: TokenUsage) => number | null;
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
  const emitter = createEmitter(def.name, deps.runId, (event) => {
    trace.append(event).catch((err: unknown) => {
      traceError ??= err;
    });
    deps.onEvent?.(event);
  });
  const budget = new BudgetTracker(def.budget);
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
    ending = await iterate({ ...deps, provider, graders }, worktree, emitter, budget, graderLog);
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
  provider: ModelProvider;
  graders: Grader[];
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
    price: deps.price ?? (() => null),
  });
  const protectedPaths = def.verify.flatMap((g) => g.protect);

  for (;;) {
    if (deps.control.stopRequested) return { outcome: 'stopped', reason: deps.control.stopMessage };
    const breach = budget.checkIteration();
    if (breach) return { outcome: 'budget', reason: describeBreach(breach), budget: breach };

    budget.iterations += 1;
    const n = budget.iterations;
    emitter.setIteration(n);
    emitter.emit({ type: 'iteration.started' });

    const instructions = deps.control.takeQueued();
    for (const text of instructions) {
      emitter.emit({ type: 'instruction.received', text, mode: 'next' });
      memory.corrections.push(text);
    }
    const context = assembleContext(def, {
      iteration: n,
      maxIterations: def.budget.iterations,
      memory: memoryForPrompt(memory),
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
        transcript: turn.messages,
        callModel: (opts) => caller.call(opts),
        worktrees: deps.worktrees,
      },
      emitter,
      deps.control,
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

    memory.progress.push(progressLine(n, turn.text, passed, failed, deps.graders.length));
    memory.lastFeedback = feedback;
    const bytes = await writeMemory(memoryPath, memory, def.memory.max_bytes);
    emitter.emit({ type: 'memory.updated', path: memoryPath, bytes });
    emitter.emit({ type: 'iteration.ended', verified, passed, failed });

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
