/**
 * executeRun without the supervisor, for what the supervisor does not expose: the budget clock and
 * the context budget. Everything it touches is real: the repository, the worktree, the state folder.
 */
import { executeRun, type RunDeps, type RunResult } from '../../src/core/run/run.js';
import { RunControl } from '../../src/core/run/control.js';
import { loadLoop } from '../../src/core/definition/load.js';
import type { LoopEvent } from '../../src/core/events.js';
import { createProvider } from '../../src/models/factory.js';
import { createGraders } from '../../src/core/verify/index.js';
import { Worktrees } from '../../src/workspace/worktrees.js';
import { newRunId, statePaths } from '../../src/state/paths.js';
import { StateIndex } from '../../src/state/index-db.js';

export interface DirectRun {
  result: RunResult;
  events: LoopEvent[];
  index: StateIndex;
}

export async function runDirect(
  repoDir: string,
  loop: string,
  extra: Partial<Pick<RunDeps, 'now' | 'contextBudgetTokens' | 'onEvent' | 'price' | 'control'>> & {
    env?: NodeJS.ProcessEnv;
    /** Retries ModelCaller makes of a retryable failure; none by default. */
    maxRetries?: number;
    /** Run the loop's own graders (by default none: these runs end before any would matter). */
    graders?: boolean;
  } = {},
): Promise<DirectRun> {
  const loaded = await loadLoop(repoDir, loop);
  if (!loaded.ok) throw new Error(`loop ${loop} does not load: ${JSON.stringify(loaded.problems)}`);
  const def = loaded.definition;
  const worktrees = await Worktrees.open(repoDir);
  const paths = statePaths(worktrees.repoRoot);
  const index = await StateIndex.open(paths.index);
  const events: LoopEvent[] = [];
  const { env, onEvent, maxRetries, graders, ...rest } = extra;
  const result = await executeRun({
    definition: def,
    runId: newRunId(),
    trigger: 'test',
    createProvider: () =>
      createProvider({
        provider: def.agent.provider,
        model: def.model,
        loopDir: def.dir,
        script: def.agent.script,
        env: env ?? {},
        maxRetries: maxRetries ?? 0,
        ...(def.agent.command ? { command: def.agent.command } : {}),
      }),
    // Most of these runs are about budgets and context: they end before any grader would matter.
    createGraders: () => (graders ? createGraders(def) : []),
    worktrees,
    paths,
    index,
    onEvent: (event) => {
      events.push(event);
      onEvent?.(event);
    },
    ...rest,
    control: rest.control ?? new RunControl(),
  });
  return { result, events, index };
}
