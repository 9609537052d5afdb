/**
 * A repository set up the way an attacker finds it: a main checkout with a loop, holdout graders'
 * files, a state/ folder with earlier findings (committed, so the worktree has a copy too), a second
 * run's worktree, a HOME with an SSH key, and a run's sandbox bound to a real worktree. The sandbox
 * must start: outside CI as in it, a machine without bubblewrap fails these tests with the fix.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoopDefinition } from '../../src/core/definition/schema.js';
import { probeBubblewrap } from '../../src/process/bubblewrap.js';
import { RunSandbox } from '../../src/process/run-sandbox.js';
import { createToolbox, executeTool } from '../../src/tools/toolbox.js';
import type { ToolContext, ToolResult } from '../../src/tools/types.js';
import { Worktrees } from '../../src/workspace/worktrees.js';
import { testDefinition } from '../verify/context.js';
import { makeRepo, sh } from '../workspace/git-repo.js';
import { tempDir } from '../tools/temp-dir.js';

export const HOLDOUT_MARK = 'HOLDOUT-ANSWER-7f3a';
export const STATE_MARK = 'EARLIER-HOLDOUT-FINDING-91c2';
export const SSH_MARK = 'PRIVATE-KEY-MATERIAL-55de';

export interface SandboxFixture {
  repo: string;
  worktree: string;
  otherWorktree: string;
  home: string;
  definition: LoopDefinition;
  sandbox: RunSandbox;
  /** Runs `command` through the agent's `run` tool, sandboxed. */
  run(command: string, timeoutSeconds?: number): Promise<ToolResult>;
  toolContext: ToolContext;
  /** A second sandbox for the same worktree, with other settings. */
  open(front: object, env?: NodeJS.ProcessEnv): Promise<RunSandbox>;
  cleanup(): Promise<void>;
}

/** Fails (never skips) when bubblewrap cannot start here, naming the fix. */
export async function requireSandbox(): Promise<void> {
  const problem = await probeBubblewrap('bwrap');
  if (problem !== undefined) throw new Error(`these tests need the sandbox: ${problem}`);
}

export const FRONT = {
  verify: [
    { command: 'sh holdout/check.sh', holdout: true, protect: ['holdout/**'] },
    { command: 'node --version', holdout: true, protect: ['answers.txt'] },
    { command: 'true' },
  ],
};

export async function makeSandboxFixture(
  front: object = FRONT,
  env: NodeJS.ProcessEnv = {},
): Promise<SandboxFixture> {
  await requireSandbox();
  const { repo, cleanup: cleanRepo } = await makeRepo();
  const { dir: homeParent, cleanup: cleanHome } = await tempDir('home');
  const home = path.join(homeParent, 'user');
  await mkdir(path.join(home, '.ssh'), { recursive: true });
  await writeFile(path.join(home, '.ssh', 'id_ed25519'), `${SSH_MARK}\n`);
  await writeFile(path.join(home, '.npmrc'), `//registry/:_authToken=${SSH_MARK}\n`);

  await mkdir(path.join(repo, 'loops', 'esc'), { recursive: true });
  await writeFile(path.join(repo, 'loops', 'esc', 'LOOP.md'), '---\nname: esc\n---\nDo the work.\n');
  await mkdir(path.join(repo, 'holdout'));
  await writeFile(path.join(repo, 'holdout', 'check.sh'), `# ${HOLDOUT_MARK}\nexit 0\n`);
  await writeFile(path.join(repo, 'answers.txt'), `${HOLDOUT_MARK}\n`);
  await mkdir(path.join(repo, 'state', 'esc', 'runs'), { recursive: true });
  await writeFile(path.join(repo, 'state', 'esc', 'runs', 'old.md'), `${STATE_MARK}\n`);
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '--quiet', '-m', 'a loop, holdout files and an old state/');
  await writeFile(path.join(repo, 'state', 'loops.json'), '{"runs":[]}\n');

  const worktrees = await Worktrees.open(repo);
  const tree = await worktrees.create({ loop: 'esc', run: 'r1', base: 'HEAD' });
  const other = await worktrees.create({ loop: 'esc', run: 'r2', base: 'HEAD' });
  await writeFile(path.join(other.path, 'other-run.txt'), 'another run\n');

  const loopsEnv = { ...process.env, HOME: home, ...env };
  const open = async (f: object, e: NodeJS.ProcessEnv = {}): Promise<RunSandbox> => {
    const definition = testDefinition(
      { name: 'esc', dir: path.join(repo, 'loops', 'esc') },
      { ...f, name: 'esc' },
    );
    const sandbox = await RunSandbox.open({ definition, repoRoot: repo, env: { ...loopsEnv, ...e } });
    await sandbox.enter(tree.path);
    return sandbox;
  };
  const sandbox = await open(front);
  const definition = testDefinition({ name: 'esc' }, { ...front, name: 'esc' });
  const toolContext: ToolContext = {
    worktree: tree.path,
    runTimeoutMs: 30_000,
    outputCap: 16_000,
    protectedPaths: [],
    sandbox,
  };
  const tools = createToolbox(['run']);
  let calls = 0;
  return {
    repo: await readFile(path.join(repo, 'README.md')).then(() => repo),
    worktree: tree.path,
    otherWorktree: other.path,
    home,
    definition,
    sandbox,
    toolContext,
    open,
    run: (command, timeoutSeconds) =>
      executeTool(
        tools,
        {
          id: `call-${++calls}`,
          name: 'run',
          input: timeoutSeconds === undefined ? { command } : { command, timeout_seconds: timeoutSeconds },
        },
        toolContext,
      ),
    async cleanup() {
      await sandbox.dispose();
      await cleanRepo();
      await cleanHome();
    },
  };
}
