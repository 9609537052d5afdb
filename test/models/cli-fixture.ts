/**
 * A temporary PATH holding fake CLI agents (the node scripts in ./fixtures, made executable and linked
 * under the names the providers run), a temporary worktree to run them in, and the log they write.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface Started {
  args: string[];
  cwd: string;
  stdin: string;
  pid: number;
  /** The environment the fake was started with. */
  env: Record<string, string>;
  /** The process it started, when FAKE_CLI_GRANDCHILD was set. */
  grandchild?: number;
}

export interface CliFixture {
  /** A directory to run in, standing in for the run's worktree. */
  worktree: string;
  /** The child's env: the fake PATH (plus node's own folder, for the shebang), the log, a mode. */
  env(mode?: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** How the last fake was started. */
  started(): Promise<Started>;
  cleanup(): Promise<void>;
}

/** `links` maps a command name (claude) to a fixture script (fake-claude.mjs). */
export async function makeCliFixture(links: Record<string, string>): Promise<CliFixture> {
  const root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'loops-cli-')));
  const bin = path.join(root, 'bin');
  const worktree = path.join(root, 'worktree');
  await mkdir(bin);
  await mkdir(worktree);
  for (const [name, script] of Object.entries(links)) {
    const target = path.join(FIXTURES, script);
    await chmod(target, 0o755);
    // A link, so the script's own imports resolve next to it.
    await symlink(target, path.join(bin, name));
  }
  const log = path.join(root, 'started.json');
  return {
    worktree,
    env: (mode = 'ok', extra = {}) => ({
      PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`,
      FAKE_CLI_LOG: log,
      FAKE_CLI_MODE: mode,
      ...extra,
    }),
    started: async () => JSON.parse(await readFile(log, 'utf8')) as Started,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Ends a process a test left behind (a grandchild the code under test failed to kill). */
export function killLeftover(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone, as it should be.
  }
}

/**
 * True while a process with this pid runs. A killed process whose parent died too waits as a zombie
 * until something reaps it, which not every container's init does: a zombie counts as gone.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat is "pid (comm) state …"; the comm may hold spaces, the state follows its ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    // Gone since the signal above; or a system without /proc, where the signal is all there is.
    return !(error instanceof Error && 'code' in error && error.code === 'ENOENT');
  }
}
