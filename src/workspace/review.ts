/**
 * Reviewing a finished run: its diff against the commit it started from, merging it into the branch
 * it started from, discarding it, and cleaning up worktrees that are done with. The rule throughout:
 * a person's work is never lost. A merge never touches a checkout with uncommitted changes, a
 * conflict changes nothing, and nothing unmerged is deleted unless the caller was told to.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { git, gitOk } from './git.js';
import { Worktrees } from './worktrees.js';

export interface RunBranch {
  /** The run's branch, `loops/<loop>/<run>`. */
  branch: string;
  /** The run's worktree folder, when it still has one. */
  worktree?: string;
  /** The commit the run started from (the diff's base); else `base`'s merge base is used. */
  baseSha?: string;
  base?: string;
  /** The branch a merge goes into. */
  baseBranch?: string;
}

export type ReviewOutcome =
  { ok: true; message: string } | { ok: false; message: string; conflicts?: string[] };

export interface RunDiff {
  /** `git diff --color=always` output, ready to print line by line. */
  lines: string[];
  /** Each file's path and the index of its `diff --git` line in `lines`. */
  files: Array<{ path: string; line: number }>;
  stat: string;
}

const FALLBACK_IDENTITY = ['-c', 'user.name=loops', '-c', 'user.email=loops@localhost'];
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
export const RUN_BRANCH = /^loops\/[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export async function revParse(repo: string, ref: string): Promise<string | undefined> {
  if (ref.startsWith('-')) return undefined;
  const result = await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

async function isAncestor(repo: string, a: string, b: string): Promise<boolean> {
  return (await git(repo, ['merge-base', '--is-ancestor', a, b])).exitCode === 0;
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Every registered worktree: its folder and its branch (when on one). */
export async function listWorktrees(repo: string): Promise<Array<{ path: string; branch?: string }>> {
  const out = await gitOk(repo, ['worktree', 'list', '--porcelain'], 'listing worktrees');
  const entries: Array<{ path: string; branch?: string }> = [];
  for (const block of out.split(/\n\n+/)) {
    const lines = block.split('\n');
    const where = lines.find((line) => line.startsWith('worktree '))?.slice('worktree '.length);
    if (!where) continue;
    const ref = lines.find((line) => line.startsWith('branch '))?.slice('branch '.length);
    const real = await realpath(where).catch(() => where);
    entries.push(ref ? { path: real, branch: ref.replace(/^refs\/heads\//, '') } : { path: real });
  }
  return entries;
}

/** Changes git would lose in a checkout: tracked edits and, with `untracked`, new files. */
export async function dirtyFiles(dir: string, untracked: boolean): Promise<string[]> {
  const out = await gitOk(
    dir,
    ['status', '--porcelain', untracked ? '--untracked-files=all' : '--untracked-files=no'],
    `reading the status of ${dir}`,
  );
  return out.split('\n').filter((line) => line.trim() !== '');
}

async function identity(repo: string): Promise<string[]> {
  const probe = await git(repo, ['var', 'GIT_COMMITTER_IDENT']);
  return probe.exitCode === 0 ? [] : FALLBACK_IDENTITY;
}

/** The run's diff against the commit it started from, coloured, split per file. */
export async function runDiff(repo: string, run: RunBranch): Promise<RunDiff> {
  const head = await revParse(repo, run.branch);
  if (head === undefined)
    throw new Error(`the branch ${run.branch} no longer exists (merged and deleted, or discarded)`);
  const base = run.baseSha ?? run.base;
  if (base === undefined || (await revParse(repo, base)) === undefined) {
    throw new Error(`the run's base ${base ?? '(unknown)'} is not in the repository`);
  }
  const range = `${base}...${head}`;
  const [colored, stat] = await Promise.all([
    gitOk(
      repo,
      ['-c', 'color.diff=always', 'diff', '--color=always', '--no-ext-diff', range],
      'reading the diff',
    ),
    gitOk(repo, ['diff', '--stat=100', '--no-ext-diff', range], 'reading the diff summary'),
  ]);
  const lines = colored.replace(/\n$/, '').split('\n');
  const files: RunDiff['files'] = [];
  lines.forEach((line, index) => {
    const plain = line.replace(ANSI, '');
    const match = /^diff --git a\/(.*) b\/(.*)$/.exec(plain);
    if (match) files.push({ path: match[2] ?? match[1] ?? plain, line: index });
  });
  return { lines: colored.trim() === '' ? [] : lines, files, stat: stat.trim() };
}

/**
 * Merges the run's branch into the branch it started from.
 * - Already contained: nothing to do.
 * - Conflicts are found with `git merge-tree` first, which touches no checkout and no ref.
 * - The target checked out somewhere: merged there only when that checkout has no uncommitted
 *   changes to tracked files; otherwise refused, so a person's edits are never mixed in or lost.
 * - The target not checked out: the merge commit is written from the merge-tree result and the
 *   branch moved with a compare-and-swap `update-ref`.
 * - Always a merge commit with loops' message, never a fast-forward: the branch's tip is then a
 *   commit loops made, so the watch trigger knows the change is loops' own (triggers/watch.ts). A
 *   fast-forward would leave the agent's last commit at the tip, which a watch took for a person's.
 */
export async function mergeRun(repo: string, run: RunBranch, message?: string): Promise<ReviewOutcome> {
  const into = run.baseBranch;
  if (into === undefined || into === '') {
    return {
      ok: false,
      message: `the branch ${run.branch} started from ${run.base ?? 'a commit'}, not from a branch: merge it by hand (git merge ${run.branch})`,
    };
  }
  const head = await revParse(repo, run.branch);
  if (head === undefined) return { ok: false, message: `the branch ${run.branch} no longer exists` };
  const target = await revParse(repo, `refs/heads/${into}`);
  if (target === undefined)
    return { ok: false, message: `the branch ${into} no longer exists; nothing was merged` };
  if (await isAncestor(repo, head, target))
    return { ok: true, message: `${run.branch} is already in ${into}` };

  const tree = await git(repo, ['merge-tree', '--write-tree', '--name-only', '--no-messages', target, head]);
  if (tree.exitCode === 1) {
    const conflicts = tree.stdout
      .trim()
      .split('\n')
      .slice(1)
      .filter((line) => line !== '');
    return {
      ok: false,
      conflicts,
      message: `merging ${run.branch} into ${into} conflicts in ${conflicts.join(', ') || 'some files'}: nothing was changed; merge by hand (git merge ${run.branch})`,
    };
  }
  if (tree.exitCode !== 0) {
    return {
      ok: false,
      message: `git merge-tree failed: ${tree.stderr.trim() || `exit code ${tree.exitCode}`}`,
    };
  }
  const text = message ?? `Merge ${run.branch} into ${into}`;

  const checkout = (await listWorktrees(repo)).find((entry) => entry.branch === into);
  if (checkout !== undefined) {
    const dirty = await dirtyFiles(checkout.path, false);
    if (dirty.length > 0) {
      return {
        ok: false,
        message: `${into} is checked out in ${checkout.path} with ${dirty.length} uncommitted change(s): commit or stash them, then merge again; nothing was changed`,
      };
    }
    // Untracked files the merge would overwrite make git refuse before it changes anything.
    const merged = await git(checkout.path, [
      ...(await identity(checkout.path)),
      '-c',
      'commit.gpgsign=false',
      'merge',
      '--no-ff',
      '--no-verify',
      '--no-edit',
      '-m',
      text,
      head,
    ]);
    if (merged.exitCode !== 0) {
      await git(checkout.path, ['merge', '--abort']);
      return {
        ok: false,
        message: `git merge in ${checkout.path} refused: ${(merged.stderr || merged.stdout).trim()}`,
      };
    }
    return { ok: true, message: `merged ${run.branch} into ${into}` };
  }

  const treeSha = tree.stdout.trim().split('\n')[0] ?? '';
  const commit = (
    await gitOk(
      repo,
      [
        ...(await identity(repo)),
        '-c',
        'commit.gpgsign=false',
        'commit-tree',
        treeSha,
        '-p',
        target,
        '-p',
        head,
        '-m',
        text,
      ],
      'writing the merge commit',
    )
  ).trim();
  // The old value makes it a compare-and-swap: a commit made to the branch meanwhile is not lost.
  const moved = await git(repo, ['update-ref', '-m', text, `refs/heads/${into}`, commit, target]);
  if (moved.exitCode !== 0) {
    return { ok: false, message: `${into} moved while merging; nothing was changed: ${moved.stderr.trim()}` };
  }
  return { ok: true, message: `merged ${run.branch} into ${into}` };
}

/** What discarding would throw away, for the confirmation a person answers first. */
export async function discardCost(
  repo: string,
  run: RunBranch,
): Promise<{ commits: number; dirty: number; merged: boolean }> {
  const head = await revParse(repo, run.branch);
  const base = run.baseSha ?? (run.base === undefined ? undefined : await revParse(repo, run.base));
  const commits =
    head === undefined || base === undefined
      ? 0
      : Number((await gitOk(repo, ['rev-list', '--count', `${base}..${head}`], 'counting commits')).trim());
  const dirty =
    run.worktree !== undefined && (await exists(run.worktree))
      ? (await dirtyFiles(run.worktree, true)).length
      : 0;
  const merged = head !== undefined && (await containedElsewhere(repo, head));
  return { commits, dirty, merged };
}

/** The run's branch and worktree are removed. Only `loops/<loop>/<run>` branches are ever deleted here. */
export async function discardRun(repo: string, run: RunBranch): Promise<ReviewOutcome> {
  if (!RUN_BRANCH.test(run.branch))
    return { ok: false, message: `${run.branch} is not a loops run branch; nothing was deleted` };
  const worktrees = await Worktrees.open(repo);
  const where = (await listWorktrees(repo)).find((entry) => entry.branch === run.branch);
  const own = path.resolve(worktrees.worktreesDir);
  if (where !== undefined && !where.path.startsWith(own + path.sep)) {
    return {
      ok: false,
      message: `${run.branch} is checked out in ${where.path}, outside loops' worktrees: nothing was deleted`,
    };
  }
  const folder = where?.path ?? run.worktree;
  if (folder !== undefined && (await exists(folder))) {
    await worktrees.remove(folder, { deleteBranch: true });
  }
  if ((await revParse(repo, `refs/heads/${run.branch}`)) !== undefined) {
    await gitOk(repo, ['branch', '-D', run.branch], `deleting the branch ${run.branch}`);
  }
  return { ok: true, message: `discarded ${run.branch} and its worktree` };
}

/** A commit reachable from some branch that is not a loops run branch: merging it lost nothing. */
export async function containedElsewhere(repo: string, sha: string): Promise<boolean> {
  const out = await gitOk(
    repo,
    ['for-each-ref', '--contains', sha, '--format=%(refname:short)', 'refs/heads/'],
    'finding branches that contain the run',
  );
  return out.split('\n').some((name) => name !== '' && !name.startsWith('loops/'));
}
