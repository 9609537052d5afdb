/**
 * `loops clean`'s git side: what is done with goes, what holds work nobody has kept goes nowhere.
 *
 * - Worktrees: a loops worktree whose HEAD is contained in a branch that is not a run branch is
 *   removed, whether its own branch is still there (merged: the branch goes with it) or gone
 *   (discarded). A dirty worktree (any change, untracked files too) and an unmerged one are kept.
 * - Run branches with no worktree left (`loops/<loop>/<run>`, its worktree removed by hand or by an
 *   older loops): deleted when merged in the same sense, kept and listed otherwise. Walking only the
 *   worktrees let these pile up forever.
 *
 * The caller holds the state lock, so no run is using any of them.
 */
import path from 'node:path';
import { gitOk } from './git.js';
import { containedElsewhere, dirtyFiles, exists, listWorktrees, revParse, RUN_BRANCH } from './review.js';
import { Worktrees } from './worktrees.js';

export interface CleanReport {
  removed: Array<{ path: string; branch?: string; why: 'merged' | 'discarded' }>;
  kept: Array<{ path: string; branch?: string; why: string }>;
  /** Run branches that had no worktree: deleted because merged, or kept because they are not. */
  branches: { removed: string[]; kept: Array<{ branch: string; why: string }> };
}

export async function cleanWorktrees(repo: string, options: { dryRun?: boolean } = {}): Promise<CleanReport> {
  const worktrees = await Worktrees.open(repo);
  const own = path.resolve(worktrees.worktreesDir) + path.sep;
  const report: CleanReport = { removed: [], kept: [], branches: { removed: [], kept: [] } };
  const entries = await listWorktrees(worktrees.repoRoot);
  for (const entry of entries) {
    if (!entry.path.startsWith(own)) continue;
    // What the worktree holds is its HEAD commit: on its branch, or detached once the branch is gone.
    const present = await exists(entry.path);
    const head = present ? await revParse(entry.path, 'HEAD') : undefined;
    const safe = head === undefined || (await containedElsewhere(worktrees.repoRoot, head));
    const why: 'merged' | 'discarded' | undefined = !safe
      ? undefined
      : entry.branch === undefined
        ? 'discarded'
        : 'merged';
    const item =
      entry.branch === undefined ? { path: entry.path } : { path: entry.path, branch: entry.branch };
    if (why === undefined) {
      report.kept.push({
        ...item,
        why: entry.branch === undefined ? 'detached, its commits on no branch' : 'not merged',
      });
      continue;
    }
    const dirty = present ? await dirtyFiles(entry.path, true) : [];
    if (dirty.length > 0) {
      report.kept.push({ ...item, why: `${dirty.length} uncommitted change(s)` });
      continue;
    }
    if (!options.dryRun) await worktrees.remove(entry.path, { deleteBranch: why === 'merged' });
    report.removed.push({ ...item, why });
  }
  const checkedOut = new Set(entries.map((entry) => entry.branch).filter((b) => b !== undefined));
  await pruneRunBranches(worktrees.repoRoot, checkedOut, report.branches, options.dryRun ?? false);
  return report;
}

/** Run branches checked out nowhere: merged ones are deleted, the others kept and listed. */
async function pruneRunBranches(
  repo: string,
  checkedOut: ReadonlySet<string>,
  out: CleanReport['branches'],
  dryRun: boolean,
): Promise<void> {
  const listed = await gitOk(
    repo,
    ['for-each-ref', '--format=%(refname:short)', 'refs/heads/loops/'],
    'listing run branches',
  );
  for (const branch of listed.split('\n')) {
    if (!RUN_BRANCH.test(branch) || checkedOut.has(branch)) continue;
    const sha = await revParse(repo, `refs/heads/${branch}`);
    if (sha === undefined) continue;
    if (!(await containedElsewhere(repo, sha))) {
      out.kept.push({ branch, why: 'not merged' });
      continue;
    }
    // -D: "merged" here means into some branch that is not a run branch, which need not be HEAD.
    if (!dryRun) await gitOk(repo, ['branch', '-D', branch], `deleting the merged branch ${branch}`);
    out.removed.push(branch);
  }
}
