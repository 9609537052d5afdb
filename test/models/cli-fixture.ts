/**
 * A temporary PATH holding fake CLI agents (the node scripts in ./fixtures, made executable and linked
 * under the names the providers run), a temporary worktree to run them in, and the log they write.
 */
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

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
