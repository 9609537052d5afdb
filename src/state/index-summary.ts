/**
 * state/loops-summary.json: what `loops list` and `loops spend` need of the run index, and no more:
 * each loop's last run and every run's outcome. The index holds a record per run (1.2 MB at 2,000
 * runs) and those commands run on every keystroke of a person's shell, so they read this instead.
 *
 * It is derived, never the truth. The index's writer (index-db.ts) rewrites it after each write of
 * loops.json, atomically, stamped with the identity of the loops.json it describes (inode, size, and
 * modification and change times to the nanosecond: every atomic replace makes a new file). A reader
 * uses it only when the stamp matches the loops.json on disk now; anything else (no summary, another
 * version, a damaged one, a crash between the two writes, an index written by an older loops) reads
 * loops.json itself, and the next open holding the lock writes a fresh summary.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { isNotFound } from './errno.js';
import { RUN_STATUSES } from './index-check.js';
import type { RunOutcome, RunRecord, RunStatus } from './index-db.js';

export const SUMMARY_VERSION = 1;

/** Which loops.json a summary describes. Bigints as decimal strings (JSON has no bigint). */
export interface IndexStamp {
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

/** A loop's latest run by start (what `loops list` shows). */
export interface RunBrief {
  run: string;
  status: RunStatus;
  startedAt: string;
}

export interface LoopSummary {
  last: RunBrief;
  /** Every run of the loop: its status, by run id. */
  outcomes: Record<string, RunStatus>;
}

export interface IndexSummaryData {
  version: typeof SUMMARY_VERSION;
  index: IndexStamp;
  loops: Record<string, LoopSummary>;
}

export function summaryFileFor(indexFile: string): string {
  return path.join(path.dirname(indexFile), 'loops-summary.json');
}

/** The stamp of the file now; undefined when there is none. */
export async function stampOf(file: string): Promise<IndexStamp | undefined> {
  try {
    const s = await stat(file, { bigint: true });
    return { ino: String(s.ino), size: String(s.size), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs) };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function sameStamp(a: IndexStamp, b: IndexStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** The summary of these run records; `later(a, b)` says whether b started after a (the index's order). */
export function summariseRuns(
  runs: readonly RunRecord[],
  later: (a: RunRecord, b: RunRecord) => boolean,
): Record<string, LoopSummary> {
  const lastOf = new Map<string, RunRecord>();
  const loops = new Map<string, LoopSummary>();
  for (const r of runs) {
    let loop = loops.get(r.loop);
    if (!loop) {
      loop = { last: brief(r), outcomes: {} };
      loops.set(r.loop, loop);
    }
    loop.outcomes[r.run] = r.status;
    const last = lastOf.get(r.loop);
    if (last === undefined || later(last, r)) {
      lastOf.set(r.loop, r);
      loop.last = brief(r);
    }
  }
  return Object.fromEntries(loops);
}

function brief(r: RunRecord): RunBrief {
  return { run: r.run, status: r.status, startedAt: r.startedAt };
}

export async function writeIndexSummary(
  indexFile: string,
  stamp: IndexStamp,
  loops: Record<string, LoopSummary>,
): Promise<void> {
  const data: IndexSummaryData = { version: SUMMARY_VERSION, index: stamp, loops };
  await writeFileAtomic(summaryFileFor(indexFile), `${JSON.stringify(data)}\n`);
}

/**
 * The summary of `indexFile` as it is on disk now, or undefined when there is no current one (then
 * read the index itself). A summary that does not parse or has the wrong shape counts as none: it
 * is only ever a copy of what the index says.
 */
export async function readIndexSummary(indexFile: string): Promise<Record<string, LoopSummary> | undefined> {
  let text: string;
  try {
    text = await readFile(summaryFileFor(indexFile), 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  // Read first, stamp second: if the index is replaced in between, the stamps differ.
  const now = await stampOf(indexFile);
  if (now === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isSummary(raw) || !sameStamp(raw.index, now)) return undefined;
  return raw.loops;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSummary(raw: unknown): raw is IndexSummaryData {
  if (!isRecord(raw) || raw.version !== SUMMARY_VERSION) return false;
  const stamp = raw.index;
  if (!isRecord(stamp)) return false;
  for (const key of ['ino', 'size', 'mtimeNs', 'ctimeNs']) if (typeof stamp[key] !== 'string') return false;
  if (!isRecord(raw.loops)) return false;
  for (const loop of Object.values(raw.loops)) {
    if (!isRecord(loop) || !isRecord(loop.last) || !isRecord(loop.outcomes)) return false;
    const last = loop.last;
    if (typeof last.run !== 'string' || typeof last.startedAt !== 'string' || !RUN_STATUSES.has(last.status as string))
      return false;
    for (const status of Object.values(loop.outcomes)) if (!RUN_STATUSES.has(status as string)) return false;
  }
  return true;
}

/** What the read-only commands ask of the index, answered from a current summary. */
export class IndexSummaryView {
  constructor(private readonly loops: Record<string, LoopSummary>) {}

  lastRun(loop: string): RunBrief | undefined {
    const found = Object.hasOwn(this.loops, loop) ? this.loops[loop] : undefined;
    return found ? { ...found.last } : undefined;
  }

  outcomes(loop?: string): RunOutcome[] {
    const out: RunOutcome[] = [];
    for (const [name, summary] of Object.entries(this.loops)) {
      if (loop !== undefined && name !== loop) continue;
      for (const [run, status] of Object.entries(summary.outcomes)) out.push({ loop: name, run, status });
    }
    return out;
  }

  /** A summary is only written for an index without a version-1 ledger inside. */
  legacyCalls(): [] {
    return [];
  }
}
