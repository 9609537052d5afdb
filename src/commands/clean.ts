/**
 * `loops clean --older-than DAYS`: compacts history older than DAYS (state/compact.ts): old runs'
 * spend files fold into the totals and their traces lose their bulky detail, with every figure
 * `loops spend` shows unchanged. It takes the state lock, so no run writes while it compacts.
 *
 * Removing the worktrees of merged or discarded runs (plain `loops clean`) lives in the screen
 * engineer's version of this file; the two meet here as `cleanOlderThan`.
 */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { compactOlderThan, type CompactionReport } from '../state/compact.js';
import { StateIndex } from '../state/index-db.js';
import { lockStateDir } from '../state/lock.js';
import { migrateLegacyLedger } from '../state/migrate.js';
import { statePaths } from '../state/paths.js';
import { recoverInterrupted } from '../state/recover.js';
import { ledgerFor } from '../state/spend-ledger.js';
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

export async function clean(options: CommonOptions & { olderThan?: string | undefined }): Promise<number> {
  if (options.olderThan === undefined) {
    process.stderr.write('loops clean: give --older-than DAYS, e.g. loops clean --older-than 90\n');
    return EXIT_BAD_DEFINITION;
  }
  const days = Number(options.olderThan);
  if (!/^\d+$/.test(options.olderThan) || !Number.isSafeInteger(days)) {
    process.stderr.write(
      `loops clean: --older-than wants a whole number of days, not "${options.olderThan}"\n`,
    );
    return EXIT_BAD_DEFINITION;
  }
  let lock;
  try {
    lock = await lockStateDir(statePaths(options.repo).root);
  } catch (err) {
    return reportStartupError(err);
  }
  try {
    const report = await cleanOlderThan(options.repo, days);
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `compacted runs older than ${days} day(s): ${report.spendFilesRemoved} spend file(s) folded into the ` +
          `totals, ${report.tracesCompacted} trace(s) pruned (${report.bytesBefore} → ${report.bytesAfter} bytes); ` +
          'loops spend shows the same figures\n',
      );
    }
    return 0;
  } finally {
    await lock.release();
  }
}
