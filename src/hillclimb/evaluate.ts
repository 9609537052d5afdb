/**
 * Measured before shown: the proposal is tried on the loop's own past tasks. Each task (a run's base
 * commit and trigger context, as the index recorded them) is re-run without the change and with it,
 * by the same engine that runs the loop (executeRun), in scratch worktrees and a scratch state folder,
 * so the loop's own memory, traces, index and branches are not written. Both arms are graded by the
 * loop's own graders, holdouts included, built from the definition as it is now. (Which is why no
 * proposal may edit RUBRIC.md, guard.ts: the agent is never shown it and both arms are graded by
 * the original, so its two arms would be the same.)
 *
 * Memory: each re-run starts from a scratch copy of the memory the original run started with.
 */
import type { CallGate } from '../core/budget/call-gate.js';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoopDefinition } from '../core/definition/schema.js';
import type { EvaluationArm } from '../core/proposals.js';
import type { LoopEvent, TokenUsage } from '../core/events.js';
import { loadLoop } from '../core/definition/load.js';
import { executeRun } from '../core/run/run.js';
import { RunControl } from '../core/run/control.js';
import { createGraders } from '../core/verify/index.js';
import { loopProvider } from '../core/run/loop-provider.js';
import type { ModelProvider } from '../models/provider.js';
import { RunSandbox, type RunSandboxOptions } from '../process/run-sandbox.js';
import type { RunRecord } from '../state/index-db.js';
import { StateIndex } from '../state/index-db.js';
import { statePaths, type StatePaths } from '../state/paths.js';
import { Worktrees } from '../workspace/worktrees.js';
import { isNotFound } from '../state/errno.js';

export interface EvaluationOptions {
  repoRoot: string;
  /** The loop's real state folder (read only: its memory). */
  paths: StatePaths;
  definition: LoopDefinition;
  /** The proposal: the file it changes (repository-relative) and that file's text with it applied. */
  file: string;
  after: string;
  tasks: readonly RunRecord[];
  runsPerTask: number;
  /** Run ids start with this (`eval-<proposal>`). */
  prefix: string;
  env?: NodeJS.ProcessEnv;
  sandbox?: Pick<RunSandboxOptions, 'bwrapPath' | 'fallback'>;
  wrapProvider?: (provider: ModelProvider) => ModelProvider;
  price?: (model: string, usage: TokenUsage) => number | null;
  /** Every event of every re-run (the spend scope records their calls). */
  onEvent?: (event: LoopEvent) => void;
  signal?: AbortSignal;
  /**
   * `hillclimb.usd_per_evaluation`: the dollars every re-run's calls together may spend. Checked after
   * each call (a re-run that reaches it is stopped before its next call) and before each re-run.
   */
  usdCap?: number;
  /** The fleet's caps: every re-run's calls wait at them. */
  callGate?: CallGate;
}

export interface Evaluation {
  arms: [EvaluationArm, EvaluationArm];
  improves: boolean;
  effect: string;
  usd: number;
  /** The evaluation reached its dollar cap before every re-run was done: nothing was measured. */
  budgetSpent?: true;
  /** Some re-run could not start (no sandbox, no key, a failed setup): nothing was measured. */
  couldNotRun?: true;
}

/** What the evaluation's calls have spent so far, against its cap. */
interface Meter {
  usd: number;
  cap: number | undefined;
}

const overCap = (m: Meter): boolean => m.cap !== undefined && m.usd >= m.cap;

/** A task: a base commit and a trigger context; two runs of one task compare equal. */
export function taskKey(r: RunRecord): string {
  return `${r.baseSha ?? ''}\u0000${JSON.stringify(r.context ?? null)}`;
}

/** The recent tasks to re-run: failing ones first (newest first), then the newest verified one as a regression guard. */
export function pickTasks(runs: readonly RunRecord[], count: number): RunRecord[] {
  const seen = new Set<string>();
  const key = taskKey;
  const newest = runs.filter(
    (r) => r.status !== 'running' && r.baseSha !== undefined && !r.run.startsWith('eval-'),
  );
  newest.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  const failing: RunRecord[] = [];
  for (const r of newest) {
    if (r.status === 'verified' || seen.has(key(r)) || failing.length >= count) continue;
    seen.add(key(r));
    failing.push(r);
  }
  const guard = newest.find((r) => r.status === 'verified' && !seen.has(key(r)));
  return guard ? [...failing, guard] : failing;
}

/** The loop as it would be with the change: its folder copied aside, the file changed there, loaded again. */
async function withChange(o: EvaluationOptions, scratch: string): Promise<LoopDefinition> {
  const def = o.definition;
  const root = path.join(scratch, 'repo');
  await cp(def.dir, path.join(root, 'loops', def.name), { recursive: true });
  await writeFile(path.join(root, o.file), o.after, 'utf8');
  const loaded = await loadLoop(root, def.name);
  if (!loaded.ok) {
    const first = loaded.problems[0];
    throw new Error(
      `with the change, the loop does not load: ${first ? `${first.file}:${first.line}: ${first.message}` : 'unknown problem'}`,
    );
  }
  // Only what the agent is told changes; settings, graders, the rubric and the folder stay the loop's own.
  // (A proposal never changes the rubric: guard.ts.)
  return { ...def, task: loaded.definition.task, skills: loaded.definition.skills };
}

/**
 * The memory a re-run starts from: the loop's MEMORY.md as the original run started with it (kept
 * beside its summary); for a run from before that was kept, the loop's MEMORY.md as it is now.
 */
async function startMemory(o: EvaluationOptions, task: RunRecord): Promise<string | undefined> {
  for (const file of [
    o.paths.memoryAtStart(o.definition.name, task.run),
    o.paths.memory(o.definition.name),
  ]) {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return undefined;
}

interface Outcome {
  verified: boolean;
  iterations: number;
  usd: number;
  /** Why the re-run failed before its first iteration, when it did: no outcome of the task's. */
  unrun?: string;
}

async function rerun(
  o: EvaluationOptions,
  def: LoopDefinition,
  task: RunRecord,
  runId: string,
  scratch: string,
  worktrees: Worktrees,
  meter: Meter,
): Promise<Outcome> {
  const state = await mkdtemp(path.join(scratch, 'state-'));
  const paths = statePaths(state);
  const memory = await startMemory(o, task);
  if (memory !== undefined) {
    await mkdir(paths.loopDir(def.name), { recursive: true });
    await writeFile(paths.memory(def.name), memory, 'utf8');
  }
  const index = await StateIndex.open(paths.index);
  const control = new RunControl();
  const stop = (): void => control.stop('the evaluation was stopped');
  o.signal?.addEventListener('abort', stop, { once: true });
  const env = o.env ?? process.env;
  const armDef: LoopDefinition = {
    ...def,
    workspace: { ...def.workspace, base: task.baseSha ?? def.workspace.base },
  };
  try {
    const result = await executeRun({
      definition: armDef,
      runId,
      trigger: 'hillclimb',
      openSandbox: () => RunSandbox.open({ definition: armDef, repoRoot: o.repoRoot, env, ...o.sandbox }),
      createProvider: (sandbox) =>
        loopProvider(def, env, { sandbox, ...(o.wrapProvider ? { wrap: o.wrapProvider } : {}) }),
      // The loop's own graders, from the definition as it is (never the changed rubric).
      createGraders: () => createGraders(o.definition),
      worktrees,
      paths,
      index,
      control,
      env,
      ...(o.callGate ? { callGate: o.callGate } : {}),
      onEvent: (event) => {
        if (event.type === 'model.response') {
          meter.usd += event.usd ?? 0;
          if (overCap(meter)) control.stop('the evaluation budget (hillclimb.usd_per_evaluation) is spent');
        }
        o.onEvent?.(event);
      },
      ...(o.price ? { price: o.price } : {}),
      ...(task.context ? { context: task.context } : {}),
    });
    if (result.worktree)
      await worktrees.remove(result.worktree, { deleteBranch: true }).catch(() => undefined);
    const unrun = result.outcome === 'failed' && result.iterations === 0 ? result.reason : undefined;
    return {
      verified: result.outcome === 'verified',
      iterations: result.iterations,
      usd: result.spend.usd,
      ...(unrun === undefined ? {} : { unrun }),
    };
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}

function arm(name: EvaluationArm['arm'], tasks: readonly RunRecord[], results: Outcome[][]): EvaluationArm {
  const flat = results.flat();
  const verified = flat.filter((r) => r.verified).length;
  const usd = flat.reduce((n, r) => n + r.usd, 0);
  return {
    arm: name,
    tasks: tasks.length,
    runs: flat.length,
    verified,
    rate: flat.length === 0 ? 0 : verified / flat.length,
    iterations: flat.reduce((n, r) => n + r.iterations, 0),
    usd,
    usdPerVerified: verified === 0 ? null : usd / verified,
    perTask: tasks.map((t, i) => {
      const runs = results[i] ?? [];
      const ok = runs.filter((r) => r.verified).length;
      return { task: t.run, verified: ok * 2 > runs.length, runs: runs.length };
    }),
  };
}

/**
 * Improves when the verified rate rises with no task going from verified to unverified, or when the
 * rate holds (and is not zero) with no task lost and dollars per verified run fall.
 */
export function judge(without: EvaluationArm, withIt: EvaluationArm): { improves: boolean; effect: string } {
  const lost = without.perTask.filter((t, i) => t.verified && withIt.perTask[i]?.verified === false).length;
  const rates = `verified ${without.verified}/${without.runs} → ${withIt.verified}/${withIt.runs}`;
  const lostText = lost === 0 ? 'no task lost' : `${lost} task${lost === 1 ? '' : 's'} lost`;
  if (lost === 0 && withIt.rate > without.rate) return { improves: true, effect: `${rates}, ${lostText}` };
  const cheaper =
    withIt.rate === without.rate &&
    withIt.usdPerVerified !== null &&
    without.usdPerVerified !== null &&
    withIt.usdPerVerified < without.usdPerVerified;
  if (lost === 0 && cheaper) {
    return {
      improves: true,
      effect: `${rates}, $/verified ${without.usdPerVerified?.toFixed(4)} → ${withIt.usdPerVerified?.toFixed(4)}, ${lostText}`,
    };
  }
  return { improves: false, effect: `${rates}, ${lostText}: no measured gain` };
}

export async function evaluateProposal(o: EvaluationOptions): Promise<Evaluation> {
  if (o.tasks.length === 0)
    throw new Error('no recorded task to evaluate on (no finished run with a base commit)');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'loops-eval-'));
  try {
    const changed = await withChange(o, scratch);
    const worktrees = await Worktrees.open(o.repoRoot);
    const results: Record<'without' | 'with', Outcome[][]> = { without: [], with: [] };
    const meter: Meter = { usd: 0, cap: o.usdCap };
    runs: for (const [armName, def] of [
      ['without', o.definition],
      ['with', changed],
    ] as const) {
      for (const [t, task] of o.tasks.entries()) {
        const runs: Outcome[] = [];
        results[armName].push(runs);
        for (let n = 1; n <= o.runsPerTask; n++) {
          if (o.signal?.aborted) throw new Error('the evaluation was stopped');
          if (overCap(meter)) break runs;
          const id = `${o.prefix}-${armName}-${t + 1}-${n}`;
          runs.push(await rerun(o, def, task, id, scratch, worktrees, meter));
        }
      }
    }
    const without = arm('without', o.tasks, results.without);
    const withIt = arm('with', o.tasks, results.with);
    const usd = without.usd + withIt.usd;
    // A re-run stopped at the cap is not a measured outcome: the whole evaluation is void.
    if (overCap(meter)) {
      const effect = `not measured: the evaluation spent $${meter.usd.toFixed(4)} of its $${(o.usdCap ?? 0).toFixed(4)} (hillclimb.usd_per_evaluation) before it was done`;
      return { arms: [without, withIt], improves: false, effect, usd, budgetSpent: true };
    }
    // A re-run that never started says nothing about the change: the comparison is void.
    const unrun = [...results.without, ...results.with].flat().filter((r) => r.unrun !== undefined);
    if (unrun.length > 0) {
      const total = [...results.without, ...results.with].flat().length;
      const effect = `not measured: ${unrun.length} of ${total} re-runs could not start (${unrun[0]?.unrun ?? ''})`;
      return { arms: [without, withIt], improves: false, effect, usd, couldNotRun: true };
    }
    return { arms: [without, withIt], ...judge(without, withIt), usd };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
