/**
 * `loops clean [--dry-run] [--older-than DAYS]`.
 *
 * Plain, it removes the worktrees of runs that are done with (their branch merged into a branch that
 * is not a run branch, or discarded); a worktree with any uncommitted change, or whose branch is not
 * merged, is kept and listed; so are run branches left with no worktree (workspace/clean.ts). With
 * `--older-than DAYS` it also compacts history older than DAYS (state/compact.ts): old runs' spend
 * files fold into the totals and their traces lose their bulky detail, with every figure `loops spend`
 * shows unchanged. `--dry-run` lists all of it and changes nothing. It takes the state lock, so no
 * screen or run writes while it cleans.
 */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { compactOlderThan, type CompactionReport } from '../state/compact.js';
import { StateIndex } from '../state/index-db.js';
import { lockStateDir } from '../state/lock.js';
import { migrateLegacyLedger } from '../state/migrate.js';
import { statePaths } from '../state/paths.js';
import { recoverInterrupted } from '../state/recover.js';
import { ledgerFor } from '../state/spend-ledger.js';
import { cleanWorktrees, type CleanReport } from '../workspace/clean.js';
import { reportStartupError } from './errors.js';
import type { CommonOptions } from './index.js';

/**
 * The `--older-than` part: the caller holds the state lock. A dry run writes nothing, so it does not
 * close a run a crash left open nor migrate a legacy ledger first: those are not in its list.
 */
export async function cleanOlderThan(repo: string, days: number, dryRun = false): Promise<CompactionReport> {
  const paths = statePaths(repo);
  const index = await StateIndex.open(paths.index);
  const ledger = ledgerFor(paths);
  ledger.forget();
  if (!dryRun) {
    await migrateLegacyLedger(index, ledger);
    // A run the last loops left unfinished is closed first, so it is never compacted as "running".
    await recoverInterrupted(paths, index, ledger);
  }
  return compactOlderThan(paths, index, ledger, days, new Date(), { dryRun });
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
    const compacted = days === undefined ? undefined : await cleanOlderThan(options.repo, days, dryRun);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...worktrees, ...(compacted ? { compacted } : {}) })}\n`);
      return 0;
    }
    process.stdout.write(describeClean(worktrees, compacted, dryRun));
    return 0;
  } catch (err) {
    return reportStartupError(err);
  } finally {
    await lock.release();
  }
}

/** What was (or, in a dry run, would be) removed, kept and compacted, one line each. */
function describeClean(
  worktrees: CleanReport,
  compacted: CompactionReport | undefined,
  dryRun: boolean,
): string {
  const verb = dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  for (const item of worktrees.removed)
    lines.push(`${verb} ${item.path} (${item.branch ?? 'no branch'}: ${item.why})`);
  for (const item of worktrees.kept)
    lines.push(`kept ${item.path} (${item.branch ?? 'no branch'}: ${item.why})`);
  for (const branch of worktrees.branches.removed)
    lines.push(`${verb} branch ${branch} (merged, no worktree)`);
  for (const item of worktrees.branches.kept)
    lines.push(`kept branch ${item.branch} (${item.why}, no worktree)`);
  if (lines.length === 0) lines.push('no run worktrees or run branches');
  if (compacted) {
    const { olderThanDays: days } = compacted;
    if (dryRun) {
      for (const run of compacted.runs) {
        const parts = [
          ...(run.spendBytes === undefined
            ? []
            : [`spend file (${run.spendBytes} bytes) folded into the totals`]),
          ...(run.trace ? [`trace pruned (${run.trace.before} → ${run.trace.after} bytes)`] : []),
        ];
        lines.push(`would compact ${run.loop}/${run.run}: ${parts.join(', ')}`);
      }
    }
    lines.push(
      compacted.runs.length === 0
        ? `nothing older than ${days} day(s) to compact`
        : `${dryRun ? 'would compact' : 'compacted'} runs older than ${days} day(s): ${compacted.spendFilesRemoved} ` +
            `spend file(s) folded into the totals, ${compacted.tracesCompacted} trace(s) pruned ` +
            `(${compacted.bytesBefore} → ${compacted.bytesAfter} bytes); loops spend shows the same figures`,
    );
  }
  return `${lines.join('\n')}\n`;
}
