/**
 * state/loops.json, the index of runs. The supervisor holds the state-folder lock, so this process is
 * the file's only writer.
 *
 * It keeps runs and small state only: the spend ledger lives in per-run files with per-loop rollups
 * (spend-ledger.ts). Files from before that (format version 1) carry every call in `calls`; opening
 * still reads them, and migrate.ts moves them out on the first open that holds the lock.
 *
 * Each write replaces the whole file atomically (atomic.ts: temp file, fsync, rename), in the format
 * lowdb wrote it in before (JSON, two-space indent), then rewrites state/loops-summary.json, the
 * small copy of what `loops list` and `loops spend` need (index-summary.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Outcome, TokenUsage } from '../core/events.js';
import type { TriggerContext } from '../core/trigger-context.js';
import { writeFileAtomic } from './atomic.js';
import { isNotFound } from './errno.js';
import { checkRuns } from './index-check.js';
import { IndexSummaryView, readIndexSummary, stampOf, summariseRuns, writeIndexSummary } from './index-summary.js';
import { callRecordSchema, type CallRecord } from './ledger.js';

export type RunStatus = 'running' | Outcome;

export interface RunRecord {
  loop: string;
  run: string;
  status: RunStatus;
  trigger: string;
  startedAt: string;
  endedAt?: string;
  iterations: number;
  branch: string;
  worktree: string;
  reason?: string;
  usage?: TokenUsage;
  /** The run this one continues (`loops resume`). */
  resumedFrom?: string;
  /** The commit the run's branch started from (the sha, so the task can be replayed). */
  baseSha?: string;
  /** What started it (core/trigger-context.ts). */
  context?: TriggerContext;
}

export const INTERRUPTED_REASON = 'interrupted: loops exited during the run';

/** 2: the ledger moved out to state/<loop>/spend/; 1 had it inside, in `calls`. */
export const INDEX_VERSION = 2;

/**
 * What the file holds. Loose at the top level: keys this version does not know (written by a newer
 * loops) are kept, not dropped. The run records are checked by index-check.ts.
 */
interface IndexData {
  [key: string]: unknown;
  version: 1 | typeof INDEX_VERSION;
  runs: RunRecord[];
  /** Version 1's spend ledger, one record per model call, oldest first: only until migrated. */
  calls?: CallRecord[];
}

/** A run's outcome and nothing else: what `loops spend` needs of every run, without copying records. */
export interface RunOutcome {
  loop: string;
  run: string;
  status: RunStatus;
}

/** loops.json cannot be read as an index. It is left untouched so nothing in it is lost. */
export class StateIndexError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${file} is not a readable loops index (${detail}); it was left as is: repair it, ` +
        'or move it aside and loops starts a new, empty index',
      options,
    );
    this.name = 'StateIndexError';
  }
}

export class StateIndex {
  /** The write in flight (or the last one), so writes reach the disk one after another, in order. */
  private writing: Promise<void> = Promise.resolve();
  /** A write queued behind it and not started: changes made meanwhile ride on it. */
  private queued: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly data: IndexData,
  ) {}

  static async open(file: string): Promise<StateIndex> {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    let data: IndexData = { version: INDEX_VERSION, runs: [] };
    if (text !== undefined) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new StateIndexError(file, `invalid JSON: ${detail}`, { cause: error });
      }
      const version = typeof raw === 'object' && raw !== null && 'version' in raw ? raw.version : undefined;
      if (typeof version === 'number' && version !== 1 && version !== INDEX_VERSION) {
        throw new StateIndexError(
          file,
          `format version ${version}, but this loops reads versions 1 and ${INDEX_VERSION}: use the loops that wrote it`,
        );
      }
      const problem = checkIndex(raw);
      if (problem) throw new StateIndexError(file, problem.detail, { cause: problem.cause });
      data = raw as IndexData;
    }
    // The state folder exists once the index is open, as it did when lowdb kept it.
    await mkdir(path.dirname(file), { recursive: true });
    return new StateIndex(file, data);
  }

  /**
   * What `loops list` and `loops spend` read: the summary (index-summary.ts) when it describes the
   * loops.json on disk now, else the index itself; undefined when there is no index yet.
   */
  static async openForReading(file: string): Promise<StateIndex | IndexSummaryView | undefined> {
    const loops = await readIndexSummary(file);
    if (loops !== undefined) return new IndexSummaryView(loops);
    return existsSync(file) ? StateIndex.open(file) : undefined;
  }

  /** Inserts or replaces the record for (loop, run). Resolves once a file containing it is on disk. */
  async upsertRun(record: RunRecord): Promise<void> {
    const runs = this.data.runs;
    const at = runs.findIndex((r) => r.loop === record.loop && r.run === record.run);
    const copy = structuredClone(record);
    if (at === -1) runs.push(copy);
    else runs[at] = copy;
    // Writes issued while one is in flight merge into one; each awaited write still covers this change.
    await this.write();
  }

  /** Version 1's in-file ledger (oldest first), to migrate; empty once migrated. Copies. */
  legacyCalls(): CallRecord[] {
    return (this.data.calls ?? []).map((c) => structuredClone(c));
  }

  /** After migration: the calls leave the index, which becomes version 2 (older loops refuse it, not misread it). */
  async dropLegacyCalls(): Promise<void> {
    delete this.data.calls;
    this.data.version = INDEX_VERSION;
    await this.write();
  }

  /** The record of one run, if any. A copy. */
  run(loop: string, run: string): RunRecord | undefined {
    const found = this.data.runs.find((r) => r.loop === loop && r.run === run);
    return found ? structuredClone(found) : undefined;
  }

  /** All runs (of one loop, if named), oldest first. Copies: changing them changes nothing stored. */
  runs(loop?: string): RunRecord[] {
    return this.data.runs
      .filter((r) => loop === undefined || r.loop === loop)
      .sort(byStart)
      .map((r) => structuredClone(r));
  }

  /** The loop's latest run (by start), copied; the others are neither sorted nor copied. */
  lastRun(loop: string): RunRecord | undefined {
    let last: RunRecord | undefined;
    for (const r of this.data.runs) if (r.loop === loop && (last === undefined || startsAfter(last, r))) last = r;
    return last ? structuredClone(last) : undefined;
  }

  /** Every run's outcome (of one loop, if named), in file order: no record is copied. */
  outcomes(loop?: string): RunOutcome[] {
    const out: RunOutcome[] = [];
    for (const r of this.data.runs)
      if (loop === undefined || r.loop === loop) out.push({ loop: r.loop, run: r.run, status: r.status });
    return out;
  }

  /** Runs still marked running: at startup (holding the lock), runs cut off by a crash or a kill. */
  runningRuns(): RunRecord[] {
    return this.data.runs.filter((r) => r.status === 'running').map((r) => structuredClone(r));
  }

  /**
   * Writes the summary again when it does not describe loops.json as it is (none yet, an older
   * loops wrote the index, a crash between the two writes). For the process holding the lock.
   */
  async refreshSummary(): Promise<void> {
    if (this.hasLegacyCalls() || (await readIndexSummary(this.file)) !== undefined) return;
    const stamp = await stampOf(this.file);
    if (stamp) await writeIndexSummary(this.file, stamp, summariseRuns(this.data.runs, startsAfter));
  }

  private hasLegacyCalls(): boolean {
    return (this.data.calls?.length ?? 0) > 0;
  }

  /** Resolves once a file with every change made before the call is on disk (and its summary). */
  private write(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.writing.then(() => {
      this.queued = undefined;
      return this.writeNow();
    });
    this.queued = next;
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async writeNow(): Promise<void> {
    // Both taken now, in one go: the summary describes exactly the text written.
    const text = JSON.stringify(this.data, null, 2);
    const loops = this.hasLegacyCalls() ? undefined : summariseRuns(this.data.runs, startsAfter);
    await writeFileAtomic(this.file, text);
    if (loops === undefined) return;
    // This process holds the lock: nothing else replaces loops.json between the write and the stat.
    const stamp = await stampOf(this.file);
    if (stamp) await writeIndexSummary(this.file, stamp, loops);
  }
}

/** Whether b started after a, or with it (so the later of two in file order wins a tie, as in a stable sort). */
function startsAfter(a: RunRecord, b: RunRecord): boolean {
  return byStart(a, b) <= 0;
}

/** What is wrong with a parsed index (`detail` names the field), or undefined. */
function checkIndex(raw: unknown): { detail: string; cause?: unknown } | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { detail: 'expected an object' };
  const data = raw as Record<string, unknown>;
  if (data.version !== 1 && data.version !== INDEX_VERSION)
    return { detail: `version: expected 1 or ${INDEX_VERSION}` };
  const runs = checkRuns(data.runs);
  if (runs) return { detail: runs };
  if (data.calls === undefined) return undefined;
  // Version 1's in-file ledger: read once, to migrate, so its schema's cost does not matter.
  const calls = z.array(callRecordSchema).safeParse(data.calls);
  if (calls.success) return undefined;
  const issue = calls.error.issues[0];
  const where = `calls${issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : ''}: `;
  return { detail: `${where}${issue?.message ?? 'unexpected shape'}`, cause: calls.error };
}

function byStart(a: RunRecord, b: RunRecord): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? -1 : 1;
  return a.run < b.run ? -1 : a.run > b.run ? 1 : 0;
}
