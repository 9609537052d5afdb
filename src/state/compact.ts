/**
 * `loops clean --older-than DAYS`: history older than DAYS shrinks without changing a figure.
 *
 * - Spend: each ended run's file is already absorbed into its loop's rollup; the rollup marks it
 *   compacted (and is written) first, then the file is deleted, so a crash in between leaves a file
 *   the rollup will never read again, never a call counted twice or lost.
 * - Traces: each ended run's trace keeps every event (so counts, outcomes and the one `run.ended`
 *   read the same) but loses its bulk: streamed deltas, tool inputs and outputs, reply text. It is
 *   rewritten atomically and ends with a `trace.compacted` event.
 *
 * The caller holds the state lock (no run is writing).
 */
import { rm, stat } from 'node:fs/promises';
import type { LoopEvent } from '../core/events.js';
import { writeFileAtomic } from './atomic.js';
import type { StateIndex } from './index-db.js';
import type { StatePaths } from './paths.js';
import type { SpendLedger } from './spend-ledger.js';
import { readTrace } from './trace.js';

export interface CompactionReport {
  olderThanDays: number;
  spendFilesRemoved: number;
  tracesCompacted: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Each run compacted (or, in a dry run, that would be): its spend file's size and its trace's. */
  runs: CompactedRun[];
}

export interface CompactedRun {
  loop: string;
  run: string;
  /** Bytes of the spend file folded into the totals; absent when it had none left. */
  spendBytes?: number;
  /** The trace's size before and after; absent when it had none or was compacted already. */
  trace?: { before: number; after: number };
}

const PRUNED = '[pruned by loops clean --older-than]';

export async function compactOlderThan(
  paths: StatePaths,
  index: StateIndex,
  ledger: SpendLedger,
  days: number,
  now: Date = new Date(),
  options: { dryRun?: boolean } = {},
): Promise<CompactionReport> {
  const write = !(options.dryRun ?? false);
  const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
  const report: CompactionReport = {
    olderThanDays: days,
    spendFilesRemoved: 0,
    tracesCompacted: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    runs: [],
  };
  const old = index.runs().filter((r) => r.status !== 'running' && (r.endedAt ?? r.startedAt) < cutoff);
  const loops = new Set(old.map((r) => r.loop));
  for (const loop of loops) {
    // Loading the rollup reconciles it with every run file first: nothing unabsorbed is deleted.
    const rollup = await ledger.rollup(loop);
    const doomed: string[] = [];
    for (const record of old) {
      if (record.loop !== loop) continue;
      const file = paths.spendFile(loop, record.run);
      const size = await stat(file).then(
        (s) => s.size,
        () => undefined,
      );
      if (size !== undefined) {
        report.bytesBefore += size;
        if (write) rollup.markCompacted(record.run);
        doomed.push(file);
      }
      const trace = await compactTrace(paths.trace(loop, record.run), days, write);
      if (trace) {
        report.tracesCompacted += 1;
        report.bytesBefore += trace.before;
        report.bytesAfter += trace.after;
      }
      if (size !== undefined || trace)
        report.runs.push({
          loop,
          run: record.run,
          ...(size === undefined ? {} : { spendBytes: size }),
          ...(trace ? { trace } : {}),
        });
    }
    if (!write) {
      report.spendFilesRemoved += doomed.length;
      continue;
    }
    // The rollup says "compacted" before any file goes.
    await ledger.save(loop);
    for (const file of doomed) {
      await rm(file, { force: true });
      report.spendFilesRemoved += 1;
    }
  }
  return report;
}

/** Rewrites an old trace without its bulk (or, with `write` false, only measures what that would give). */
async function compactTrace(
  file: string,
  days: number,
  write: boolean,
): Promise<{ before: number; after: number } | undefined> {
  const before = await stat(file).then(
    (s) => s.size,
    () => undefined,
  );
  if (before === undefined) return undefined;
  const events = await readTrace(file);
  if (events.some((e) => e.type === 'trace.compacted')) return undefined;
  const kept = events.filter((e) => e.type !== 'model.delta').map(pruneEvent);
  const last = events.at(-1);
  const body = kept.map((e) => JSON.stringify(e)).join('\n');
  const lines = kept.length > 0 ? `${body}\n` : '';
  const afterGuess = Buffer.byteLength(lines, 'utf8');
  const marker: LoopEvent = {
    loop: last?.loop ?? '',
    run: last?.run ?? '',
    iteration: last?.iteration ?? 0,
    time: new Date().toISOString(),
    seq: (last?.seq ?? 0) + 1,
    span: last ? `run:${last.run}` : '',
    type: 'trace.compacted',
    olderThanDays: days,
    bytesBefore: before,
    bytesAfter: afterGuess,
  };
  const text = `${lines}${JSON.stringify(marker)}\n`;
  if (write) await writeFileAtomic(file, text);
  return { before, after: Buffer.byteLength(text, 'utf8') };
}

function pruneEvent(event: LoopEvent): LoopEvent {
  switch (event.type) {
    case 'model.response':
      return {
        ...event,
        text: event.text === '' ? '' : PRUNED,
        toolCalls: event.toolCalls.map((c) => ({ ...c, input: PRUNED })),
      };
    case 'tool.call':
      return { ...event, input: PRUNED };
    case 'tool.result':
      return { ...event, output: event.output === '' ? '' : PRUNED };
    case 'grader.regression':
      return { ...event, diff: PRUNED };
    default:
      return event;
  }
}
