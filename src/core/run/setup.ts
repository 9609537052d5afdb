/**
 * `workspace.setup`: commands run in a new worktree before the first iteration (installing the
 * dependencies, say), in the sandbox's `setup` profile: it may reach the network and write a shared
 * dependency cache, which the agent's phase never can. Each command's output goes to the trace; a
 * failing one ends the run `failed` with the command and the tail of what it printed.
 *
 * Setup's powers are for the person's files only. A run whose worktree starts from commits the agent
 * wrote (`loops resume` continues a run from its last iteration's commit) would otherwise hand the
 * agent's package.json scripts, .npmrc or Makefile the network and the shared cache. So such a run's
 * setup runs on the base commit's files (the ones a new run's setup runs on), and the worktree is
 * moved to the agent's commit after it; what setup made that git ignores (node_modules) stays. A
 * dependency the agent added since is not installed: the agent's own phase has no network for it.
 */
import path from 'node:path';
import type { LoopDefinition } from '../definition/schema.js';
import { runShell } from '../../process/shell.js';
import { scrubEnv } from '../../process/env.js';
import type { Sandbox } from '../../process/sandbox.js';
import type { Emitter } from './emitter.js';

export class SetupError extends Error {
  override name = 'SetupError';
}

/** Kept of a setup command's output in the trace and in the error: its end says what went wrong. */
const OUTPUT_CAP = 8_000;
const TAIL_CHARS = 1_500;

export interface SetupDeps {
  definition: LoopDefinition;
  worktree: string;
  sandbox: Sandbox & { setupCache?: string | undefined };
  emitter: Emitter;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Milliseconds a command may take (the run's time left bounds it further). */
  timeoutMs: () => number;
  /** The worktree's commits: where it started (the person's) and where it stands (maybe the agent's). */
  checkout: {
    baseSha: string;
    head: () => Promise<string>;
    resetHard: (sha: string) => Promise<void>;
  };
}

export async function runSetup(deps: SetupDeps): Promise<void> {
  if (deps.definition.workspace.setup.length === 0) return;
  const { baseSha } = deps.checkout;
  const head = await deps.checkout.head();
  if (head === baseSha) return runCommands(deps);
  deps.emitter.emit({
    type: 'run.error',
    kind: 'setup.base',
    message:
      `workspace.setup runs on the files of the base commit ${baseSha.slice(0, 12)}, not on the agent's ` +
      `commits this run starts from (${head.slice(0, 12)}): setup has the network and the shared cache, ` +
      "which the agent's files never get. The worktree moves to the agent's commit after setup; " +
      'dependencies the agent changed since are not installed',
  });
  await deps.checkout.resetHard(baseSha);
  try {
    await runCommands(deps);
  } finally {
    await deps.checkout.resetHard(head);
  }
}

async function runCommands(deps: SetupDeps): Promise<void> {
  const commands = deps.definition.workspace.setup;
  for (const [i, command] of commands.entries()) {
    const started = Date.now();
    deps.emitter.emit({ type: 'setup.started', command, index: i });
    const result = await runShell(command, {
      cwd: deps.worktree,
      timeoutMs: deps.timeoutMs(),
      outputCap: OUTPUT_CAP,
      signal: deps.signal,
      env: { ...scrubEnv(deps.env), ...cacheEnv(deps.sandbox.setupCache) },
      sandbox: deps.sandbox,
      profile: 'setup',
    });
    const ok = result.exitCode === 0;
    deps.emitter.emit({
      type: 'setup.result',
      command,
      index: i,
      ok,
      exitCode: result.exitCode,
      output: result.output,
      durationMs: Date.now() - started,
    });
    if (result.canceled) throw new SetupError(`workspace.setup was stopped during "${command}"`);
    if (!ok) {
      const why = result.timedOut
        ? 'timed out'
        : result.spawnError
          ? `could not start: ${result.spawnError}`
          : `exited with ${result.exitCode ?? 'a signal'}`;
      const tail = result.output.trimEnd().slice(-TAIL_CHARS);
      throw new SetupError(`workspace.setup[${i}] "${command}" ${why}${tail ? `:\n${tail}` : ''}`);
    }
  }
}

/** Package managers' caches pointed into the shared folder, so a second worktree's install is fast. */
function cacheEnv(cache: string | undefined): Record<string, string> {
  if (cache === undefined) return {};
  return {
    npm_config_cache: path.join(cache, 'npm'),
    YARN_CACHE_FOLDER: path.join(cache, 'yarn'),
    PIP_CACHE_DIR: path.join(cache, 'pip'),
    XDG_CACHE_HOME: cache,
  };
}
