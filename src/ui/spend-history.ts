/**
 * Spend before this screen opened, as the spend pane's chart needs it: dollars per hour from the
 * ledger's rollups (state/<loop>/spend/totals.json, kept per hour), read once through a port (the
 * screen never imports state/; commands/spend-history-port.ts wires it). Calls made after the read
 * come from the session's events, so nothing is counted twice.
 */
import type { SpendState } from './panes/spend-slice.js';

export interface HourSpend {
  /** YYYY-MM-DDTHH, UTC: the rollups' hour key. */
  hour: string;
  usd: number;
  calls: number;
  unpricedCalls: number;
}

export interface SpendHistory {
  hours: HourSpend[];
  /** ISO time of the read: events after it are the session's. */
  readAt: string;
}

export interface SpendHistoryPort {
  read(): Promise<SpendHistory>;
}

export type HistoryEntry =
  | { state: 'none' }
  | { state: 'loading' }
  | { state: 'ready'; history: SpendHistory }
  | { state: 'error'; message: string };

export class SpendHistoryModel {
  private entry: HistoryEntry = { state: 'none' };
  private readonly listeners = new Set<() => void>();

  constructor(readonly port: SpendHistoryPort | undefined) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  snapshot = (): HistoryEntry => this.entry;

  /** Reads the history the first time it is asked for; later calls keep it. */
  load(): void {
    if (this.port === undefined || this.entry.state !== 'none') return;
    this.entry = { state: 'loading' };
    this.port.read().then(
      (history) => this.set({ state: 'ready', history }),
      (err: unknown) =>
        this.set({ state: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
  }

  private set(entry: HistoryEntry): void {
    this.entry = entry;
    for (const listener of [...this.listeners]) listener();
  }
}

export const HISTORY_HOURS = 12;

const hourKey = (ms: number): string => new Date(ms).toISOString().slice(0, 13);

/**
 * Dollars per hour for the last `count` hours, oldest first: the ledger's hours up to its read,
 * the session's calls after it. The newest hour is that of the newest event or of the read
 * (no clock: an idle screen draws nothing).
 */
export function hourlyChart(
  history: SpendHistory | undefined,
  spend: SpendState,
  count = HISTORY_HOURS,
): number[] {
  const readMs = history === undefined ? 0 : Date.parse(history.readAt);
  const latest = Math.max(spend.nowMinute * 60_000, Number.isNaN(readMs) ? 0 : readMs);
  const lastHour = Math.floor(latest / 3_600_000);
  const keys = Array.from({ length: count }, (_, i) => hourKey((lastHour - (count - 1 - i)) * 3_600_000));
  const index = new Map(keys.map((key, i) => [key, i]));
  const buckets = new Array<number>(count).fill(0);
  for (const cell of history?.hours ?? []) {
    const at = index.get(cell.hour);
    if (at !== undefined) buckets[at] = (buckets[at] ?? 0) + cell.usd;
  }
  for (const [minute, usd] of Object.entries(spend.perMinute)) {
    const ms = Number(minute) * 60_000;
    // A call in the minute of the read may be in the ledger already: the minute after it counts.
    if (history !== undefined && ms < readMs) continue;
    const at = index.get(hourKey(ms));
    if (at !== undefined) buckets[at] = (buckets[at] ?? 0) + usd;
  }
  return buckets;
}
