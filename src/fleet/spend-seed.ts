/**
 * What the fleet gate knows of the spend before this process made a call: today's dollars across
 * every loop from the rollups' hourly totals, and the calls of the last burn window from the run files
 * written in it. Read once when the gate starts; after that the gate counts calls as they are billed.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readSpendFile } from '../state/spend-file.js';
import { ledgerFor } from '../state/spend-ledger.js';
import type { StatePaths } from '../state/paths.js';

const HOUR_MS = 3_600_000;

export interface SpendSeed {
  /** Dollars of priced calls since `since` (local midnight), across all loops. */
  todayUsd: number;
  /** Priced calls answered in the burn window, oldest first. */
  recent: Array<{ at: number; usd: number }>;
}

/**
 * The rollups keep UTC hours; the fleet's day is local. An hour is counted when any of it falls after
 * local midnight, so in a time zone with a half-hour offset the half hour before midnight counts too
 * (the cap errs on the safe side by at most that half hour's spend).
 */
export async function seedSpend(
  paths: StatePaths,
  since: number,
  now: number,
  windowMs: number,
): Promise<SpendSeed> {
  const ledger = ledgerFor(paths);
  let todayUsd = 0;
  const recent: SpendSeed['recent'] = [];
  for (const rollup of await ledger.allRollups()) {
    for (const cell of rollup.hours) {
      const start = Date.parse(`${cell.hour}:00:00Z`);
      if (start + HOUR_MS > since && start <= now) todayUsd += cell.totals.usd;
    }
    // Only files written within the window can hold its calls: one stat each, a read for the few.
    const dir = paths.spendDir(rollup.loop);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue;
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info || info.mtimeMs <= now - windowMs) continue;
      const chunk = await readSpendFile(file).catch(() => undefined);
      for (const call of chunk?.calls ?? []) {
        const at = Date.parse(call.time);
        if (call.usd !== null && at > now - windowMs && at <= now) recent.push({ at, usd: call.usd });
      }
    }
  }
  recent.sort((a, b) => a.at - b.at);
  return { todayUsd, recent };
}
