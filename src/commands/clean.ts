/**
 * `loops clean [--dry-run] [--older-than DAYS]`.
 *
 * Plain, it removes the worktrees of runs that are done with (their branch merged into a branch that
 * is not a run branch, or discarded); a worktree with any uncommitted change, or whose branch is not
 * merged, is kept and listed. With `--older-than DAYS` it also compacts history older than DAYS
 * (state/compact.ts): old runs' spend files fold into the totals and their traces lose their bulky
 * detail, with every figure `loops spend` shows unchanged. It takes the state lock, so no screen or
 * run writes while it cleans.
 */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { compactOlderThan, type CompactionReport } from '../state/compact.js';
import { StateIndex } from '../state/index-db.js';
import { lockStateDir } from '../state/lock.js';
import { migrateLegacyLedger } from '../state/migrate.js';
import { statePaths } from '../state/paths.js';
import { recoverInterrupted } from '../state/recover.js';
import { ledgerFor } from '../state/spend-ledger.js';
import { cleanWorktrees } from '../workspace/review.js';
import { reportStartupError } from './errors.js';
import type { CommonOptions } from './index.js';

/** The `--older-than` part: the caller holds the state lock. */
export async function cleanOlderThan(repo: string, days: number): Promise<CompactionReport> {
  const paths = statePaths(repo);
  const index = await StateIndex.open(paths.index);
  const ledger = ledgerFor(paths);
  ledger.forget();
  await migrateLegacyLedger(index, ledger);
  // A run the last loops left unfinished is closed first, so it is never compacted as "running".
  await recoverInterrupted(paths, index, ledger);
  return compactOlderThan(paths, index, ledger, days);
}

export async function clean(options: CommonOptions): Promise<number> {
  let days: number | undefined;
  if (options.olderThan !== undefined) {
    days = Number(options.olderThan);
    if (!/^\d+$/.test(options.olderThan) || !Number.isSafeInteger(days)) {
      process.stderr.write(
        `loops clean: --older-than wants a whole number of days, not "${options.olderThan}"\n`,
      );
      return EXIT_BAD_DEFINITION;
    }
  }
  let lock;
  try {
    lock = await lockStateDir(statePaths(options.repo).root);
  } catch (err) {
    return reportStartupError(err);
  }
  try {
    const dryRun = options.dryRun ?? false;
    const worktrees = await cleanWorktrees(options.repo, { dryRun });
    const compacted = days === undefined || dryRun ? undefined : await cleanOlderThan(options.repo, days);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...worktrees, ...(compacted ? { compacted } : {}) })}\n`);
      return 0;
    }
    const verb = dryRun ? 'would remove' : 'removed';
    for (const item of worktrees.removed) {
      process.stdout.write(`${verb} ${item.path} (${item.branch ?? 'no branch'}: ${item.why})\n`);
    }
    for (const item of worktrees.kept) {
      process.stdout.write(`kept ${item.path} (${item.branch ?? 'no branch'}: ${item.why})\n`);
    }
    if (worktrees.removed.length === 0 && worktrees.kept.length === 0)
      process.stdout.write('no run worktrees\n');
    if (compacted) {
      process.stdout.write(
        `compacted runs older than ${days} day(s): ${compacted.spendFilesRemoved} spend file(s) folded into the ` +
          `totals, ${compacted.tracesCompacted} trace(s) pruned (${compacted.bytesBefore} → ${compacted.bytesAfter} bytes); ` +
          'loops spend shows the same figures\n',
      );
    }
    return 0;
  } catch (err) {
    return reportStartupError(err);
  } finally {
    await lock.release();
  }
}
