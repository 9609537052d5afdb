/**
 * The spend ledger: per-run append-only files (the detail) and per-loop rollups (the totals every
 * report reads). The process holding the state lock writes; readers (`loops spend`) open it
 * read-only and fold in, in memory only, whatever the writer appended since its last rollup write.
 *
 * Opening a loop reconciles: every run file not yet closed in the rollup is read from the rollup's
 * offset for it, so calls appended just before a crash are counted, once.
 *
 * Because of that, a rollup on disk may lag its run files without any figure being wrong or lost:
 * during a run its rollup is written at most every ROLLUP_SAVE_EVERY_MS (an iteration's end asks, a
 * run's close always writes). The rollup is the largest file loops rewrites (0.6 MB at 2,000 past
 * runs), and writing it every iteration made a run's cost grow with history.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound } from './errno.js';
import type { CallRecord } from './ledger.js';
import { isLoopName, isRunId, type StatePaths } from './paths.js';
import { readSpendFile, SpendAppender, spendLine } from './spend-file.js';
import { Rollup, type RollupData, type Totals } from './spend-rollup.js';

/** How stale a rollup on disk may get while its runs go on (their files hold the rest). */
export const ROLLUP_SAVE_EVERY_MS = 10_000;

export interface LedgerOptions {
  /** Only the process holding the state lock writes; a reader never touches the files. */
  writable: boolean;
}

export class SpendLedger {
  private readonly rollups = new Map<string, Promise<Rollup>>();
  /** One save at a time per rollup; each save writes a self-consistent snapshot anyway. */
  private readonly saving = new Map<string, Promise<void>>();
  /** When each rollup was last written by this process (performance.now()). */
  private readonly savedAt = new Map<string, number>();

  private constructor(
    readonly paths: StatePaths,
    readonly writable: boolean,
  ) {}

  static open(paths: StatePaths, options: LedgerOptions): SpendLedger {
    return new SpendLedger(paths, options.writable);
  }

  /** The loop's rollup, reconciled with its run files (and saved, when writable and anything was new). */
  rollup(loop: string): Promise<Rollup> {
    let loaded = this.rollups.get(loop);
    if (!loaded) {
      loaded = this.loadRollup(loop);
      this.rollups.set(loop, loaded);
      // A failed load is not cached: the next ask tries again (and reports again).
      loaded.catch(() => this.rollups.delete(loop));
    }
    return loaded;
  }

  /** Loops with a spend folder in state/. */
  async loopNames(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.paths.root, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !isLoopName(entry.name)) continue;
      const spend = await readdir(this.paths.spendDir(entry.name)).catch(() => undefined);
      if (spend !== undefined) names.push(entry.name);
    }
    return names.sort();
  }

  /** Rollups of one loop, or of every loop. */
  async allRollups(loop?: string): Promise<RollupData[]> {
    const names = loop === undefined ? await this.loopNames() : [loop];
    const out: RollupData[] = [];
    for (const name of names) out.push((await this.rollup(name)).data);
    return out;
  }

  /** One run's totals, from the rollup (which has absorbed its file). */
  async runTotals(loop: string, run: string): Promise<Totals | undefined> {
    return (await this.rollup(loop)).runTotals(run);
  }

  /** Opens the run's spend file for appending; its calls are counted in the rollup as they are written. */
  async openRun(loop: string, run: string): Promise<RunSpendLog> {
    if (!this.writable) throw new Error('the spend ledger was opened read-only');
    const rollup = await this.rollup(loop);
    // The rollup has absorbed the file's whole lines, so its offset is where the next line goes.
    const offset = rollup.mark(run)?.offset ?? 0;
    const appender = await SpendAppender.open(this.paths.spendFile(loop, run), offset);
    return new RunSpendLog(run, rollup, appender, offset, (soon) =>
      soon ? this.saveSoon(loop) : this.save(loop),
    );
  }

  /** Marks a run's file as fully absorbed (the run is over), so later opens do not read it again. */
  async closeRun(loop: string, run: string, options: { save?: boolean } = {}): Promise<void> {
    const rollup = await this.rollup(loop);
    rollup.close(run);
    if (options.save !== false) await this.save(loop);
  }

  /** Writes the loop's rollup if it changed. */
  async save(loop: string): Promise<void> {
    if (!this.writable) return;
    const previous = this.saving.get(loop) ?? Promise.resolve();
    const next = previous.then(async () => {
      const rollup = await this.rollup(loop);
      if (!rollup.dirty) return;
      this.savedAt.set(loop, performance.now());
      await rollup.save(this.paths.spendTotals(loop));
    });
    this.saving.set(
      loop,
      next.catch(() => undefined),
    );
    return next;
  }

  /** Writes the loop's rollup if it changed and was last written over ROLLUP_SAVE_EVERY_MS ago. */
  async saveSoon(loop: string): Promise<void> {
    const last = this.savedAt.get(loop);
    if (last !== undefined && performance.now() - last < ROLLUP_SAVE_EVERY_MS) return;
    await this.save(loop);
  }

  /** Writes every changed rollup. */
  async saveAll(): Promise<void> {
    for (const loop of this.rollups.keys()) await this.save(loop);
  }

  /** Forgets the loaded rollups, so the next ask reads them from disk again (after migration, compaction). */
  forget(loop?: string): void {
    if (loop === undefined) this.rollups.clear();
    else this.rollups.delete(loop);
  }

  private async loadRollup(loop: string): Promise<Rollup> {
    const rollup = await this.reconcile(loop);
    // What is on disk now matches what was loaded: the first iteration's end need not write it again.
    this.savedAt.set(loop, performance.now());
    return rollup;
  }

  private async reconcile(loop: string): Promise<Rollup> {
    const rollup = await Rollup.load(this.paths.spendTotals(loop), loop);
    let names: string[];
    try {
      names = await readdir(this.paths.spendDir(loop));
    } catch (error) {
      if (isNotFound(error)) return rollup;
      throw error;
    }
    for (const name of names.sort()) {
      if (!name.endsWith('.jsonl')) continue;
      const run = name.slice(0, -'.jsonl'.length);
      if (!isRunId(run)) continue;
      const mark = rollup.mark(run);
      if (mark?.closed) continue;
      const chunk = await readSpendFile(path.join(this.paths.spendDir(loop), name), mark?.offset ?? 0);
      if (chunk.calls.length > 0 || mark === undefined) rollup.absorb(run, chunk.calls, chunk.end);
    }
    if (this.writable && rollup.dirty) await rollup.save(this.paths.spendTotals(loop));
    return rollup;
  }
}

/** One run's side of the ledger: append a call (synchronously), flush at iteration end, close at the end. */
export class RunSpendLog {
  private failed: Error | undefined;

  constructor(
    readonly run: string,
    private readonly rollup: Rollup,
    private readonly appender: SpendAppender,
    private offset: number,
    /** `soon`: an iteration's end, which may leave the rollup to a later write. */
    private readonly saveRollup: (soon: boolean) => Promise<void>,
  ) {}

  /** The call is in the run's file when this returns, and in the in-memory rollup. */
  record(call: CallRecord): void {
    if (this.failed) throw this.failed;
    try {
      this.offset += this.appender.append(spendLine(call));
    } catch (error) {
      this.failed = error instanceof Error ? error : new Error(String(error));
      throw this.failed;
    }
    this.rollup.absorb(this.run, [call], this.offset);
  }

  /**
   * The file to disk, then the rollup when it is due (a rollup never counts bytes that might not be
   * on disk; one that lags is caught up from the file by the next open).
   */
  async flush(): Promise<void> {
    await this.appender.sync();
    await this.saveRollup(true);
  }

  async close(): Promise<void> {
    await this.appender.close();
    this.rollup.close(this.run);
    await this.saveRollup(false);
  }
}

const shared = new Map<string, SpendLedger>();

/**
 * The one writable ledger of a state folder in this process: runs of several loops (or of one loop
 * at once) share it, so they never write one rollup from two copies.
 */
export function ledgerFor(paths: StatePaths): SpendLedger {
  let ledger = shared.get(paths.root);
  if (!ledger) {
    ledger = SpendLedger.open(paths, { writable: true });
    shared.set(paths.root, ledger);
  }
  return ledger;
}
