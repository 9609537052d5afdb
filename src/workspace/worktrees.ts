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
import { configFor, git, gitAddAllAndCommit, gitOk, type PinnedPlace } from './git.js';
import { hiddenEntries } from './index-flags.js';
import { withLock } from './mutex.js';
import { readReplaceRefs } from './replace-refs.js';
import { readHead } from './git-objects.js';
import { ObjectStore, type TreeEntry } from './object-store.js';

export { WorkspaceError } from './errors.js';
export type { TreeEntry } from './object-store.js';

/** What pruneOrphans did: folders removed, and folders kept because they hold work. */
export interface PruneReport {
  removed: string[];
  kept: Array<{ path: string; reason: string }>;
}

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
/** What `git commit` says, under LC_ALL=C, when the index matches HEAD. */
const NOTHING_TO_COMMIT = /nothing (added )?to commit|no changes added to commit/;

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
  /** Each worktree's own git dir (`<common>/worktrees/<id>`), recorded when loops made it or found it. */
  private readonly gitDirs = new Map<string, string>();
  /** Commits, trees and blobs read once each: objects never change. */
  private readonly objects = new ObjectStore();
  /** Replace refs deleted by a commit and not yet reported. */
  private readonly droppedReplaceRefs: string[] = [];

  private constructor(
    readonly repoRoot: string,
    /** The git dir shared by every worktree of the repository: the lock key and where info/exclude lives. */
    private readonly commonDir: string,
    /** Replace refs that were there when loops opened the repository: the user's, left alone. */
    private readonly replaceRefsAtOpen: ReadonlySet<string>,
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
    const commonDir = await realpath(common.trim());
    return new Worktrees(root, commonDir, new Set(await readReplaceRefs(commonDir)));
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
      // A leading "-" would be read as an option, never as a branch (validate refuses it too, and
      // --end-of-options keeps git from reading one that got here anyway).
      const base = o.base.startsWith('-')
        ? undefined
        : await git(this.repoRoot, [
            'rev-parse',
            '--verify',
            '--quiet',
            '--end-of-options',
            `${o.base}^{commit}`,
          ]);
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
      const real = await realpath(dir);
      // Found now, before the agent has run: from here on the worktree's .git file is never read.
      this.gitDirs.set(real, await this.findGitDir(real));
      const baseBranch = await this.branchNamedBy(o.base);
      return { path: real, branch, baseSha, ...(baseBranch ? { baseBranch } : {}) };
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
        // The agent may have rewritten the worktree's .git file; git refuses to remove a worktree
        // whose .git does not point back at its record, so it is put back first.
        const gitDir = await this.findGitDir(dir).catch(() => undefined);
        if (gitDir !== undefined)
          await writeFile(path.join(dir, '.git'), `gitdir: ${gitDir}\n`).catch(() => undefined);
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

  /**
   * Cleans up after runs whose worktrees went away, and never deletes work: a folder is removed only
   * when git no longer knows it and its branch holds every file in it. git's records are repaired
   * first, so worktrees of a repository whose folder was moved are found again rather than pruned;
   * `git worktree prune` then drops only the records of folders that are gone. Whatever is left
   * with files of its own is kept and reported.
   */
  async pruneOrphans(): Promise<PruneReport> {
    return withLock(this.commonDir, async () => {
      const folders: Array<{ dir: string; loop: string; run: string }> = [];
      for (const loop of await readdir(this.worktreesDir).catch(() => [])) {
        for (const run of await readdir(path.join(this.worktreesDir, loop)).catch(() => [])) {
          const dir = path.join(this.worktreesDir, loop, run);
          if ((await stat(dir).catch(() => undefined))?.isDirectory() === true)
            folders.push({ dir, loop, run });
        }
      }
      // After a move both links are stale: the repository's record and the worktree's .git file.
      if (folders.length > 0) await git(this.repoRoot, ['worktree', 'repair', ...folders.map((f) => f.dir)]);
      await gitOk(this.repoRoot, ['worktree', 'prune'], 'pruning worktrees');
      const known = new Set((await this.list()).map((entry) => entry.path));
      const report: PruneReport = { removed: [], kept: [] };
      for (const { dir, loop, run } of folders) {
        const real = await realpath(dir).catch(() => dir);
        if (known.has(real)) continue;
        const unsaved = await this.unsavedFiles(dir, `loops/${loop}/${run}`);
        if (unsaved === 0) {
          await rm(dir, { recursive: true, force: true });
          report.removed.push(dir);
        } else {
          const what =
            unsaved === undefined
              ? 'could not be compared with its branch'
              : `has ${unsaved} file(s) its branch lacks`;
          report.kept.push({
            path: dir,
            reason: `${dir} is no longer a git worktree but ${what}: kept; look through it, then delete it yourself`,
          });
        }
      }
      for (const loop of new Set(folders.map((f) => f.loop))) {
        await rmdir(path.join(this.worktreesDir, loop)).catch(() => undefined);
      }
      return report;
    });
  }

  /**
   * How many files in the folder differ from `branch` (all of them when there is no such branch),
   * read through a throwaway index so nothing of git's state changes; undefined when git cannot tell.
   */
  private async unsavedFiles(dir: string, branch: string): Promise<number | undefined> {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'loops-prune-'));
    try {
      const env = { GIT_DIR: this.commonDir, GIT_WORK_TREE: dir, GIT_INDEX_FILE: path.join(tmp, 'index') };
      const ref = `refs/heads/${branch}`;
      const hasBranch = (await git(dir, ['show-ref', '--verify', '--quiet', ref], env)).exitCode === 0;
      const read = await git(dir, hasBranch ? ['read-tree', ref] : ['read-tree', '--empty'], env);
      if (read.exitCode !== 0) return undefined;
      if ((await git(dir, ['add', '-A', '--', '.'], env)).exitCode !== 0) return undefined;
      const diff = hasBranch
        ? await git(dir, ['diff', '--cached', '--name-only', '-z', '--no-renames', ref], env)
        : await git(dir, ['ls-files', '-z'], env);
      if (diff.exitCode !== 0) return undefined;
      return diff.stdout.split('\0').filter((name) => name !== '').length;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
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

  /**
   * The worktree's own git dir, found from the main repository (`<common>/worktrees/<id>/gitdir`
   * names the worktree's .git file), never from the worktree's .git file, which the agent can rewrite.
   */
  private async findGitDir(p: string): Promise<string> {
    const known = this.gitDirs.get(p);
    if (known !== undefined) return known;
    const admin = path.join(this.commonDir, 'worktrees');
    for (const id of await readdir(admin).catch(() => [])) {
      const gitDir = path.join(admin, id);
      const pointer = await readFile(path.join(gitDir, 'gitdir'), 'utf8').catch(() => '');
      const named = pointer.trim();
      if (named === '') continue;
      const worktree = await realpath(path.dirname(named)).catch(() => path.dirname(named));
      if (worktree === p) {
        this.gitDirs.set(p, gitDir);
        return gitDir;
      }
    }
    throw new WorkspaceError(
      `${p} is not a worktree of ${this.repoRoot} (git has no record of it in ${admin}); it may have been pruned`,
    );
  }

  /** Where git commands for a worktree run: its git dirs pinned, whatever its .git file now says. */
  private async place(p: string): Promise<PinnedPlace> {
    const workTree = await realpath(p).catch(() => path.resolve(p));
    return { workTree, gitDir: await this.findGitDir(workTree), commonDir: this.commonDir };
  }

  /**
   * Clears assume-unchanged and skip-worktree on every entry of an index that has them, so add,
   * diff and reset see every file. Costs no process when no entry has a flag (the usual case).
   */
  private async unhide(place: PinnedPlace, env: Record<string, string> = {}): Promise<void> {
    const indexFile = env['GIT_INDEX_FILE'] ?? path.join(place.gitDir, 'index');
    let hidden: { assumeUnchanged: string[]; skipWorktree: string[] };
    try {
      hidden = await hiddenEntries(indexFile);
    } catch {
      // An index this cannot read (a newer format, say): clear the flags on every path anyway.
      const all = (await gitOk(place, ['ls-files', '-z'], 'listing the index', env))
        .split('\0')
        .filter(Boolean);
      hidden = { assumeUnchanged: all, skipWorktree: all };
    }
    const clear = async (flag: string, paths: string[]): Promise<void> => {
      if (paths.length === 0) return;
      await gitOk(
        place,
        ['update-index', '-z', flag, '--stdin'],
        `clearing ${flag} in ${place.workTree}`,
        env,
        {
          input: paths.map((name) => `${name}\0`).join(''),
        },
      );
    };
    // One flag per call: update-index applies only the first of several to each path.
    await clear('--no-assume-unchanged', hidden.assumeUnchanged);
    await clear('--no-skip-worktree', hidden.skipWorktree);
  }

  /**
   * Stages everything and commits; null when there was nothing to commit. Two git processes in the
   * usual case (add, commit), started from loops as one (git.ts gitAddAllAndCommit): identity comes
   * from the cached config listing, HEAD is read from the ref files, and nothing the index hides
   * (assume-unchanged, skip-worktree) is left out.
   */
  async commitAll(p: string, message: string): Promise<string | null> {
    const place = await this.place(p);
    // Every turn ends in a commit, so no replace ref outlives the turn that made it, graded or not.
    await this.sweepReplaceRefs();
    await this.unhide(place);
    const identity = (await configFor(place)).hasIdentity ? [] : FALLBACK_IDENTITY;
    // Bookkeeping commits never run hooks or a signing agent (git.ts switches both off as well).
    const { stage, ...committed } = await gitAddAllAndCommit(place, identity, message);
    if (committed.exitCode !== 0) {
      const detail = committed.stderr.trim() || committed.stdout.trim() || `exit code ${committed.exitCode}`;
      if (stage === 'add') throw new WorkspaceError(`staging changes in ${p} failed: ${detail}`);
      if (committed.exitCode === 1 && NOTHING_TO_COMMIT.test(committed.stdout + committed.stderr))
        return null;
      throw new WorkspaceError(`committing in ${p} failed: ${detail}`);
    }
    return this.headSha(p);
  }

  /**
   * Runs `fn` with a throwaway index holding the whole working tree (untracked files included,
   * ignored files not, nothing hidden by index flags), so diffs see new files without touching the
   * worktree's real index.
   */
  private async withFullIndex<T>(
    p: string,
    fn: (place: PinnedPlace, env: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    const place = await this.place(p);
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'loops-index-'));
    try {
      const indexFile = path.join(tmp, 'index');
      const copied = await copyFile(path.join(place.gitDir, 'index'), indexFile).then(
        () => true,
        () => false,
      );
      const env = { GIT_INDEX_FILE: indexFile };
      if (!copied) await gitOk(place, ['read-tree', 'HEAD'], 'reading HEAD', env);
      else await this.unhide(place, env);
      await gitOk(place, ['add', '-A'], `reading the working tree of ${p}`, env);
      return await fn(place, env);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Unified diff from `fromSha` to the working tree, new files included; no textconv, no external diff. */
  async diff(p: string, fromSha: string): Promise<string> {
    return this.withFullIndex(p, (place, env) =>
      gitOk(
        place,
        ['diff', '--cached', '--no-color', '--no-ext-diff', '--no-textconv', fromSha, '--'],
        `diffing ${p} against ${fromSha}`,
        env,
      ),
    );
  }

  /** Paths (relative to the worktree) that differ from `fromSha`, new and deleted files included. */
  async changedFiles(p: string, fromSha: string): Promise<string[]> {
    const out = await this.withFullIndex(p, (place, env) =>
      gitOk(
        place,
        [
          'diff',
          '--cached',
          '--name-only',
          '--no-renames',
          '--no-ext-diff',
          '--no-textconv',
          '-z',
          fromSha,
          '--',
        ],
        `listing changes in ${p}`,
        env,
      ),
    );
    return out.split('\0').filter((name) => name !== '');
  }

  /** HEAD's commit, read from the ref files when they say plainly (no process), else from git. */
  async headSha(p: string): Promise<string> {
    const place = await this.place(p);
    const sha = await readHead(place).catch(() => undefined);
    if (sha !== undefined) return sha;
    return (await gitOk(place, ['rev-parse', 'HEAD'], `reading HEAD of ${p}`)).trim();
  }

  /** The tree HEAD points at: two commits with equal trees hold the same files (the stall detector's diff identity). */
  async headTree(p: string): Promise<string> {
    const place = await this.place(p);
    const sha = await readHead(place).catch(() => undefined);
    const known = sha === undefined ? undefined : await this.objects.commitTree(place, sha);
    if (known !== undefined) return known;
    return (await gitOk(p, ['rev-parse', 'HEAD^{tree}'], `reading the tree of HEAD in ${p}`)).trim();
  }

  /** Back to `sha` exactly: tracked changes undone and untracked files removed (ignored ones kept). */
  async resetHard(p: string, sha: string): Promise<void> {
    const place = await this.place(p);
    await this.unhide(place);
    await gitOk(place, ['reset', '--hard', '--quiet', sha], `resetting ${p} to ${sha}`);
    await gitOk(place, ['clean', '-fd', '--quiet'], `cleaning ${p}`);
  }

  /** Every file of a commit's tree (read once per commit: a commit never changes). */
  async tree(p: string, sha: string): Promise<TreeEntry[]> {
    return this.objects.tree(await this.place(p), sha);
  }

  /** The contents of blobs, by id, in one `git cat-file --batch` for those not read before. */
  async blobs(p: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
    return this.objects.blobs(await this.place(p), oids);
  }

  /**
   * Replace refs (`git replace`) made since loops opened the repository: they live in the shared
   * repository, so one made in a run's worktree would change what the user's own git shows. Each
   * is deleted; returns their names. Reads the ref files (no process) unless there is one to delete.
   */
  async dropNewReplaceRefs(): Promise<string[]> {
    await this.sweepReplaceRefs();
    return this.droppedReplaceRefs.splice(0);
  }

  /** Deletes replace refs made since open, keeping their names for dropNewReplaceRefs to report. */
  private async sweepReplaceRefs(): Promise<void> {
    const planted = (await readReplaceRefs(this.commonDir)).filter((ref) => !this.replaceRefsAtOpen.has(ref));
    for (const ref of planted) {
      await gitOk(this.repoRoot, ['update-ref', '--no-deref', '-d', ref], `deleting the replace ref ${ref}`);
      this.droppedReplaceRefs.push(ref);
    }
  }
}
