/** The spend pane's history port, read from the ledger's rollups (one totals.json per loop). */
import { SpendLedger } from '../state/spend-ledger.js';
import { statePaths } from '../state/paths.js';
import type { HourSpend, SpendHistoryPort } from '../ui/spend-history.js';

export function ledgerSpendHistory(repoRoot: string): SpendHistoryPort {
  return {
    async read() {
      const readAt = new Date().toISOString();
      const rollups = await SpendLedger.open(statePaths(repoRoot), { writable: false }).allRollups();
      const byHour = new Map<string, HourSpend>();
      for (const rollup of rollups) {
        for (const cell of rollup.hours) {
          const into = byHour.get(cell.hour) ?? { hour: cell.hour, usd: 0, calls: 0, unpricedCalls: 0 };
          into.usd += cell.totals.usd;
          into.calls += cell.totals.calls;
          into.unpricedCalls += cell.totals.unpricedCalls;
          byHour.set(cell.hour, into);
        }
      }
      return { hours: [...byHour.values()].sort((a, b) => a.hour.localeCompare(b.hour)), readAt };
    },
  };
}
