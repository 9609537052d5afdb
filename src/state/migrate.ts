/**
 * First open of a state/loops.json from before the append-only ledger (format version 1, every call
 * in `calls`): the calls move to per-run files and per-loop rollups, then leave the index.
 *
 * Each step can be repeated after a crash with the same result: the run files are rewritten whole with
 * the same bytes (so a rollup that already absorbed one sees nothing new), rollups absorb only bytes
 * past their offsets, and the calls leave the index last, once everything else is on disk.
 */
import { writeFileAtomic } from './atomic.js';
import type { StateIndex } from './index-db.js';
import type { CallRecord } from './ledger.js';
import type { SpendLedger } from './spend-ledger.js';
import { spendLine } from './spend-file.js';

export interface Migration {
  calls: number;
  runs: number;
  loops: string[];
}

export async function migrateLegacyLedger(index: StateIndex, ledger: SpendLedger): Promise<Migration | undefined> {
  const calls = index.legacyCalls();
  if (calls.length === 0) {
    // A version-1 file with an empty ledger still becomes version 2 only when something else writes it.
    return undefined;
  }
  const byRun = new Map<string, { loop: string; run: string; calls: CallRecord[] }>();
  for (const call of calls) {
    const key = `${call.loop}\u0000${call.run}`;
    let group = byRun.get(key);
    if (!group) {
      group = { loop: call.loop, run: call.run, calls: [] };
      byRun.set(key, group);
    }
    group.calls.push(call);
  }
  const loops = new Set<string>();
  for (const { loop, run, calls: runCalls } of byRun.values()) {
    const bytes = Buffer.concat(runCalls.map(spendLine)).toString('utf8');
    await writeFileAtomic(ledger.paths.spendFile(loop, run), bytes);
    loops.add(loop);
  }
  // Rollups read the files afresh; a run still marked running stays open (recovery closes it).
  ledger.forget();
  for (const loop of loops) {
    await ledger.rollup(loop);
    for (const { loop: l, run } of byRun.values()) {
      if (l !== loop) continue;
      if (index.run(loop, run)?.status === 'running') continue;
      await ledger.closeRun(loop, run, { save: false });
    }
    await ledger.save(loop);
  }
  await index.dropLegacyCalls();
  return { calls: calls.length, runs: byRun.size, loops: [...loops].sort() };
}
