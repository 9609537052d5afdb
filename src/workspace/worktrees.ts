/**
 * Each run works in its own git worktree, `.loops/worktrees/<loop>/<run>` on branch
 * `loops/<loop>/<run>`, so runs never touch the user's checkout or each other. The worktree and
 * branch outlive the run for review; merging or discarding is a person's choice.
 */
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkspaceError } from './errors.js';
import { git, gitOk } from './git.js';
import { withLock } from './mutex.js';

export { WorkspaceError } from './errors.js';

export interface Worktree {
  /** Absolute real path of the worktree. */
  path: string;
  branch: string;
  /** The commit the branch started from. */
  baseSha: string;
  /** The local branch the base named at creation (HEAD resolved to its branch); absent for a commit or a detached HEAD. */
  baseBranch?: string;
}

const EXCLUDE_LINE = '.loops/';
const FALLBACK_IDENTITY = ['-c', 'user.name=loops', '-c', 'user.email=loops@localhost'];
/** A loop or run name becomes a folder and a branch component: keep it plain. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkSegment(kind: string, value: string): void {
  if (!SEGMENT.test(value) || value.includes('..') || value.endsWith('.lock') || value.endsWith('.')) {
    throw new WorkspaceError(
      `invalid ${kind} name "${value}": use letters, digits, ".", "_" and "-" (it names a folder and a git branch)`,
    );
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export class Worktrees {
  private excludeDone = false;

  private constructor(
    readonly repoRoot: string,
    /** The git dir shared by every worktree of the repository: the lock key and where info/exclude lives. */
    private readonly commonDir: string,
  ) {}

  static async open(repoRoot: string): Promise<Worktrees> {
    const dir = path.resolve(repoRoot);
    if (!(await exists(dir)))
      throw new WorkspaceError(`not a git repository: ${dir} (the directory does not exist)`);
    const top = await git(dir, ['rev-parse', '--show-toplevel']);
    if (top.exitCode !== 0 || top.stdout.trim() === '') {
      throw new WorkspaceError(
        `not a git repository: ${dir} (run git init there and commit once, or start loops inside a git repository)`,
      );
    }
    const root = await realpath(top.stdout.trim());
    const common = await gitOk(
      root,
      ['rev-parse', '--path-format=absolute', '--git-common-dir'],
      'finding the git dir',
    );
    const head = await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
    if (head.exitCode !== 0) {
      throw new WorkspaceError(
        `the repository has no commits yet: commit once first (git add -A && git commit -m "initial commit" in ${root})`,
      );
    }
    return new Worktrees(root, await realpath(common.trim()));
  }

  /** Where the worktrees of every loop live. */
  get worktreesDir(): string {
    return path.join(this.repoRoot, '.loops', 'worktrees');
  }

  async create(o: { loop: string; run: string; base: string }): Promise<Worktree> {
    checkSegment('loop', o.loop);
    checkSegment('run', o.run);
    const branch = `loops/${o.loop}/${o.run}`;
    const dir = path.join(this.worktreesDir, o.loop, o.run);

    return withLock(this.commonDir, async () => {
      // A leading "-" would be read as an option, never as a branch.
      const base = o.base.startsWith('-')
        ? undefined
        : await git(this.repoRoot, ['rev-parse', '--verify', '--quiet', `${o.base}^{commit}`]);
      if (!base || base.exitCode !== 0) {
        throw new WorkspaceError(
          `base branch '${o.base}' not found in ${this.repoRoot} (set workspace.base in LOOP.md to an existing branch or commit)`,
        );
      }
      const baseSha = base.stdout.trim();
      if (await exists(dir)) {
        throw new WorkspaceError(
          `the worktree folder ${dir} already exists: use another run id, or remove it first`,
        );
      }
      const taken = await git(this.repoRoot, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`]);
      if (taken.exitCode === 0) {
        throw new WorkspaceError(
          `the branch ${branch} already exists: use another run id, or delete the branch first`,
        );
      }

      await this.ensureExcluded();
      await mkdir(path.dirname(dir), { recursive: true }).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new WorkspaceError(`could not make the folder for ${dir}: ${reason}`, { cause: error });
      });
      const added = await git(this.repoRoot, ['worktree', 'add', '--no-track', '-b', branch, dir, baseSha]);
      if (added.exitCode !== 0) {
        await this.undoAdd(dir, branch);
        throw new WorkspaceError(
          `creating the worktree for ${branch} failed: ${added.stderr.trim() || `git exit code ${added.exitCode}`}`,
        );
      }
      const baseBranch = await this.branchNamedBy(o.base);
      return { path: await realpath(dir), branch, baseSha, ...(baseBranch ? { baseBranch } : {}) };
    });
  }

  /** The local branch a base ref names: itself when it is one, the checked-out branch for HEAD. */
  private async branchNamedBy(base: string): Promise<string | undefined> {
    if (base === 'HEAD') {
      const head = await git(this.repoRoot, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
      return head.exitCode === 0 && head.stdout.trim() !== '' ? head.stdout.trim() : undefined;
    }
    const local = await git(this.repoRoot, ['show-ref', '--verify', '--quiet', `refs/heads/${base}`]);
    return local.exitCode === 0 ? base : undefined;
  }

  /** Leave nothing half-made: no folder, no registration, no branch. */
  private async undoAdd(dir: string, branch: string): Promise<void> {
    await git(this.repoRoot, ['worktree', 'remove', '--force', '--force', dir]);
    await rm(dir, { recursive: true, force: true });
    await git(this.repoRoot, ['worktree', 'prune']);
    await git(this.repoRoot, ['branch', '-D', branch]);
  }

  /** `.loops/` in the shared info/exclude, so the worktrees never show in the user's git status. */
  private async ensureExcluded(): Promise<void> {
    if (this.excludeDone) return;
    const file = path.join(this.commonDir, 'info', 'exclude');
    const current = await readFile(file, 'utf8').catch(() => '');
    const lines = current.split(/\r?\n/).map((line) => line.trim());
    if (!lines.includes(EXCLUDE_LINE) && !lines.includes(`/${EXCLUDE_LINE}`)) {
      await mkdir(path.dirname(file), { recursive: true });
      const sep = current === '' || current.endsWith('\n') ? '' : '\n';
      await writeFile(file, `${current}${sep}${EXCLUDE_LINE}\n`, 'utf8');
    }
    this.excludeDone = true;
  }

  /** Only worktrees under .loops/worktrees are ever removed: this never deletes the user's own folders. */
  private async ownPath(p: string): Promise<{ dir: string; branchGuess: string | undefined }> {
    const resolved = path.resolve(p);
    const dir = await realpath(resolved).catch(() => resolved);
    const rel = path.relative(this.worktreesDir, dir);
    const parts = rel.split(path.sep);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel) || parts.length !== 2) {
      throw new WorkspaceError(
        `${p} is not a loops worktree (those live in ${this.worktreesDir}/<loop>/<run>)`,
      );
    }
    return { dir, branchGuess: `loops/${parts[0] ?? ''}/${parts[1] ?? ''}` };
  }

  async remove(p: string, o: { deleteBranch?: boolean } = {}): Promise<void> {
    const { dir, branchGuess } = await this.ownPath(p);
    await withLock(this.commonDir, async () => {
      const listed = (await this.list()).find((entry) => entry.path === dir);
      if (listed) {
        await gitOk(
          this.repoRoot,
          ['worktree', 'remove', '--force', '--force', dir],
          `removing the worktree ${dir}`,
        );
      }
      await rm(dir, { recursive: true, force: true });
      await gitOk(this.repoRoot, ['worktree', 'prune'], 'pruning worktrees');
      await rmdir(path.dirname(dir)).catch(() => undefined);
      const branch = listed?.branch ?? branchGuess;
      if (o.deleteBranch && branch) {
        const present = await git(this.repoRoot, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`]);
        if (present.exitCode === 0)
          await gitOk(this.repoRoot, ['branch', '-D', branch], `deleting the branch ${branch}`);
      }
    });
  }

  /** Prunes git's stale records and deletes folders under .loops/worktrees that git no longer knows. */
  async pruneOrphans(): Promise<string[]> {
    return withLock(this.commonDir, async () => {
      await gitOk(this.repoRoot, ['worktree', 'prune'], 'pruning worktrees');
      const known = new Set((await this.list()).map((entry) => entry.path));
      const removed: string[] = [];
      for (const loop of await readdir(this.worktreesDir).catch(() => [])) {
        const loopDir = path.join(this.worktreesDir, loop);
        for (const run of await readdir(loopDir).catch(() => [])) {
          const dir = path.join(loopDir, run);
          const real = await realpath(dir).catch(() => dir);
          if (known.has(real)) continue;
          await rm(dir, { recursive: true, force: true });
          removed.push(dir);
        }
        await rmdir(loopDir).catch(() => undefined);
      }
      return removed;
    });
  }

  /** Registered worktrees with real paths and (for those on a branch) the branch name. */
  private async list(): Promise<Array<{ path: string; branch?: string }>> {
    const out = await gitOk(this.repoRoot, ['worktree', 'list', '--porcelain'], 'listing worktrees');
    const entries: Array<{ path: string; branch?: string }> = [];
    for (const block of out.split(/\n\n+/)) {
      const lines = block.split('\n');
      const where = lines.find((line) => line.startsWith('worktree '))?.slice('worktree '.length);
      if (!where) continue;
      const ref = lines.find((line) => line.startsWith('branch '))?.slice('branch '.length);
      const entry: { path: string; branch?: string } = { path: await realpath(where).catch(() => where) };
      if (ref) entry.branch = ref.replace(/^refs\/heads\//, '');
      entries.push(entry);
    }
    return entries;
  }

  /** Stages everything and commits; null when there was nothing to commit. */
  async commitAll(p: string, message: string): Promise<string | null> {
    await gitOk(p, ['add', '-A'], `staging changes in ${p}`);
    const staged = await git(p, ['diff', '--cached', '--quiet']);
    if (staged.exitCode === 0) return null;
    const identity = (await this.hasIdentity(p)) ? [] : FALLBACK_IDENTITY;
    // Bookkeeping commits must not depend on the user's hooks or a signing agent being there.
    await gitOk(
      p,
      [...identity, '-c', 'commit.gpgsign=false', 'commit', '--no-verify', '--quiet', '-m', message],
      `committing in ${p}`,
    );
    return this.headSha(p);
  }

  private async hasIdentity(p: string): Promise<boolean> {
    const name = await git(p, ['config', 'user.name']);
    const email = await git(p, ['config', 'user.email']);
    return (
      name.exitCode === 0 && name.stdout.trim() !== '' && email.exitCode === 0 && email.stdout.trim() !== ''
    );
  }

  /**
   * Runs `fn` with a throwaway index holding the whole working tree (untracked files included,
   * ignored files not), so diffs see new files without touching the worktree's real index.
   */
  private async withFullIndex<T>(p: string, fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'loops-index-'));
    try {
      const indexFile = path.join(tmp, 'index');
      const real = (
        await gitOk(p, ['rev-parse', '--path-format=absolute', '--git-path', 'index'], 'finding the index')
      ).trim();
      const copied = await copyFile(real, indexFile).then(
        () => true,
        () => false,
      );
      const env = { GIT_INDEX_FILE: indexFile };
      if (!copied) await gitOk(p, ['read-tree', 'HEAD'], 'reading HEAD', env);
      await gitOk(p, ['add', '-A'], `reading the working tree of ${p}`, env);
      return await fn(env);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Unified diff from `fromSha` to the working tree, new files included. */
  async diff(p: string, fromSha: string): Promise<string> {
    return this.withFullIndex(p, (env) =>
      gitOk(
        p,
        ['diff', '--cached', '--no-color', '--no-ext-diff', fromSha],
        `diffing ${p} against ${fromSha}`,
        env,
      ),
    );
  }

  /** Paths (relative to the worktree) that differ from `fromSha`, new and deleted files included. */
  async changedFiles(p: string, fromSha: string): Promise<string[]> {
    const out = await this.withFullIndex(p, (env) =>
      gitOk(
        p,
        ['diff', '--cached', '--name-only', '--no-renames', '-z', fromSha],
        `listing changes in ${p}`,
        env,
      ),
    );
    return out.split('\0').filter((name) => name !== '');
  }

  async headSha(p: string): Promise<string> {
    return (await gitOk(p, ['rev-parse', 'HEAD'], `reading HEAD of ${p}`)).trim();
  }

  /** Back to `sha` exactly: tracked changes undone and untracked files removed (ignored ones kept). */
  async resetHard(p: string, sha: string): Promise<void> {
    await gitOk(p, ['reset', '--hard', '--quiet', sha], `resetting ${p} to ${sha}`);
    await gitOk(p, ['clean', '-fd', '--quiet'], `cleaning ${p}`);
  }
}
