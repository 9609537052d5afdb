/**
 * state/loops.json, the index of runs (lowdb). The supervisor holds the state-folder lock, so this
 * process is the file's only writer, which is what lowdb/steno require.
 *
 * It keeps runs and small state only: the spend ledger lives in per-run files with per-loop rollups
 * (spend-ledger.ts). Files from before that (format version 1) carry every call in `calls`; opening
 * still reads them, and migrate.ts moves them out on the first open that holds the lock.
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
import type { TriggerContext } from '../core/trigger-context.js';
import { callRecordSchema, usageSchema, type CallRecord } from './ledger.js';

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
  resumedFrom: z.string().optional(),
  baseSha: z.string().optional(),
  // Kept as written: its shape is checked where it is read (a replay), and a newer loops may add fields.
  context: z.custom<TriggerContext>((v) => typeof v === 'object' && v !== null).optional(),
});

/** 2: the ledger moved out to state/<loop>/spend/; 1 had it inside, in `calls`. */
export const INDEX_VERSION = 2;

// Loose at the top level: keys this version does not know (written by a newer loops) are kept, not dropped.
const indexSchema = z.looseObject({
  version: z.union([z.literal(1), z.literal(INDEX_VERSION)]),
  runs: z.array(runRecordSchema),
  /** Version 1's spend ledger, one record per model call, oldest first: only until migrated. */
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
    let data: IndexData = { version: INDEX_VERSION, runs: [] };
    if (raw !== null) {
      const version = typeof raw === 'object' && 'version' in raw ? raw.version : undefined;
      if (typeof version === 'number' && version !== 1 && version !== INDEX_VERSION) {
        throw new StateIndexError(
          file,
          `format version ${version}, but this loops reads versions 1 and ${INDEX_VERSION}: use the loops that wrote it`,
        );
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

  /** Version 1's in-file ledger (oldest first), to migrate; empty once migrated. Copies. */
  legacyCalls(): CallRecord[] {
    return (this.db.data.calls ?? []).map((c) => structuredClone(c));
  }

  /** After migration: the calls leave the index, which becomes version 2 (older loops refuse it, not misread it). */
  async dropLegacyCalls(): Promise<void> {
    delete this.db.data.calls;
    this.db.data.version = INDEX_VERSION;
    await this.write();
  }

  /** The record of one run, if any. A copy. */
  run(loop: string, run: string): RunRecord | undefined {
    const found = this.db.data.runs.find((r) => r.loop === loop && r.run === run);
    return found ? structuredClone(found) : undefined;
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

  /** Runs still marked running: at startup (holding the lock), runs cut off by a crash or a kill. */
  runningRuns(): RunRecord[] {
    return this.db.data.runs.filter((r) => r.status === 'running').map((r) => structuredClone(r));
  }

  private async write(): Promise<void> {
    await this.db.write();
  }
}

function byStart(a: RunRecord, b: RunRecord): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? -1 : 1;
  return a.run < b.run ? -1 : a.run > b.run ? 1 : 0;
}
