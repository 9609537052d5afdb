/**
 * state/loops.json, the index of runs and the spend ledger (lowdb). The supervisor holds the
 * state-folder lock, so this process is the file's only writer, which is what lowdb/steno require.
 *
 * lowdb rewrites the whole file on every write, so ledger calls are batched: `recordCall` only changes
 * the data in memory and `flush` (the run calls it at the end of each iteration) or any later write
 * puts them on disk; the run's final record is such a write, so a normal exit loses no call.
 *
 * lowdb's JSONFile directly, not JSONFilePreset: the preset silently swaps in a memory adapter when
 * NODE_ENV is "test", and then nothing reaches disk.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { z } from 'zod';
import type { Outcome, TokenUsage } from '../core/events.js';
import { callRecordSchema, matchesFilter, usageSchema, type CallFilter, type CallRecord } from './ledger.js';

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
}

export const INTERRUPTED_REASON = 'interrupted: loops exited during the run';

const runRecordSchema = z.object({
  loop: z.string(),
  run: z.string(),
  status: z.enum(['running', 'verified', 'budget', 'stalled', 'stopped', 'failed']),
  trigger: z.string(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  iterations: z.number(),
  branch: z.string(),
  worktree: z.string(),
  reason: z.string().optional(),
  usage: usageSchema.optional(),
});

// Loose at the top level: keys this version does not know (written by a newer loops) are kept, not dropped.
const indexSchema = z.looseObject({
  version: z.literal(1),
  runs: z.array(runRecordSchema),
  /** The spend ledger, one record per model call, oldest first. Absent in files from before it. */
  calls: z.array(callRecordSchema).optional(),
});

type IndexData = z.infer<typeof indexSchema>;

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
  /** Ledger calls recorded since the last write. */
  private unwritten = 0;

  private constructor(
    readonly file: string,
    private readonly db: Low<IndexData>,
  ) {}

  static async open(file: string): Promise<StateIndex> {
    const adapter = new JSONFile<IndexData>(file);
    let raw: unknown;
    try {
      raw = await adapter.read();
    } catch (error) {
      if (error instanceof SyntaxError) throw new StateIndexError(file, `invalid JSON: ${error.message}`, { cause: error });
      throw error;
    }
    let data: IndexData = { version: 1, runs: [] };
    if (raw !== null) {
      const version = typeof raw === 'object' && 'version' in raw ? raw.version : undefined;
      if (typeof version === 'number' && version !== 1) {
        throw new StateIndexError(file, `format version ${version}, but this loops reads version 1: use the loops that wrote it`);
      }
      const parsed = indexSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        throw new StateIndexError(file, `${where}${issue?.message ?? 'unexpected shape'}`, { cause: parsed.error });
      }
      data = parsed.data;
    }
    // steno writes a temp file beside the target, so the folder must exist before the first write.
    await mkdir(path.dirname(file), { recursive: true });
    return new StateIndex(file, new Low<IndexData>(adapter, data));
  }

  /** Inserts or replaces the record for (loop, run). Resolves once a file containing it is on disk. */
  async upsertRun(record: RunRecord): Promise<void> {
    const runs = this.db.data.runs;
    const at = runs.findIndex((r) => r.loop === record.loop && r.run === record.run);
    const copy = structuredClone(record);
    if (at === -1) runs.push(copy);
    else runs[at] = copy;
    // lowdb merges writes issued while one is in flight; each awaited write still covers this change.
    await this.write();
  }

  /** Adds one model call to the ledger, in memory: `flush` (or any later write) puts it on disk. */
  recordCall(call: CallRecord): void {
    (this.db.data.calls ??= []).push(structuredClone(call));
    this.unwritten += 1;
  }

  /** Writes the ledger calls recorded since the last write, if any. */
  async flush(): Promise<void> {
    if (this.unwritten > 0) await this.write();
  }

  /** Ledger calls recorded since the last write. */
  get pendingCalls(): number {
    return this.unwritten;
  }

  /** The ledger's calls (of one loop, since a day, if given), oldest first. Copies. */
  calls(filter: CallFilter = {}): CallRecord[] {
    return (this.db.data.calls ?? []).filter((c) => matchesFilter(c, filter)).map((c) => structuredClone(c));
  }

  /** All runs (of one loop, if named), oldest first. Copies: changing them changes nothing stored. */
  runs(loop?: string): RunRecord[] {
    return this.db.data.runs
      .filter((r) => loop === undefined || r.loop === loop)
      .sort(byStart)
      .map((r) => structuredClone(r));
  }

  lastRun(loop: string): RunRecord | undefined {
    return this.runs(loop).at(-1);
  }

  /**
   * Runs still marked running when loops starts were cut off by a crash or a kill: they become failed.
   * Call it once at startup, holding the state lock, before any new run begins.
   */
  async markInterrupted(now: Date = new Date()): Promise<RunRecord[]> {
    const interrupted: RunRecord[] = [];
    for (const record of this.db.data.runs) {
      if (record.status !== 'running') continue;
      record.status = 'failed';
      record.reason = INTERRUPTED_REASON;
      record.endedAt = now.toISOString();
      interrupted.push(structuredClone(record));
    }
    if (interrupted.length > 0) await this.write();
    return interrupted;
  }

  private async write(): Promise<void> {
    // Every write is of the whole data, so it carries any ledger calls not yet on disk.
    const covered = this.unwritten;
    await this.db.write();
    this.unwritten = Math.max(0, this.unwritten - covered);
  }
}

function byStart(a: RunRecord, b: RunRecord): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? -1 : 1;
  return a.run < b.run ? -1 : a.run > b.run ? 1 : 0;
}
