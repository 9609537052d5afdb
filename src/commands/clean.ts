/**
 * `loops clean`: removes the worktrees of runs that are done with (their branch merged into a branch
 * that is not a run branch, or discarded). A worktree with any uncommitted change, or whose branch is
 * not merged, is kept and listed. It takes the state lock, so no loops screen or daemon has a run
 * using a worktree while it cleans.
 */
import { lockStateDir } from '../state/lock.js';
import { statePaths } from '../state/paths.js';
import { cleanWorktrees } from '../workspace/review.js';
import { reportStartupError } from './errors.js';
import type { CommonOptions } from './index.js';

export async function clean(options: CommonOptions & { dryRun?: boolean }): Promise<number> {
  let lock;
  try {
    lock = await lockStateDir(statePaths(options.repo).root);
  } catch (err) {
    return reportStartupError(err);
  }
  try {
    const report = await cleanWorktrees(options.repo, { dryRun: options.dryRun ?? false });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const verb = options.dryRun ? 'would remove' : 'removed';
    for (const item of report.removed) {
      process.stdout.write(`${verb} ${item.path} (${item.branch ?? 'no branch'}: ${item.why})\n`);
    }
    for (const item of report.kept) {
      process.stdout.write(`kept ${item.path} (${item.branch ?? 'no branch'}: ${item.why})\n`);
    }
    if (report.removed.length === 0 && report.kept.length === 0) process.stdout.write('no run worktrees\n');
    return 0;
  } catch (err) {
    return reportStartupError(err);
  } finally {
    await lock.release();
  }
}
