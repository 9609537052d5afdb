/** The spend pane's chart from the ledger's hourly rollups plus the session's calls after the read. */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spendPane } from '../../src/ui/panes/spend.js';
import { spendSlice } from '../../src/ui/panes/spend-slice.js';
import { hourlyChart, type SpendHistoryPort } from '../../src/ui/spend-history.js';
import { modelResponse, runEvents, started, usage } from './fake-port.js';
import { renderApp } from './render-app.js';

afterEach(() => {
  cleanup();
});

const history = {
  readAt: '2026-01-01T10:30:00.000Z',
  hours: [
    { hour: '2026-01-01T08', usd: 1, calls: 3, unpricedCalls: 0 },
    { hour: '2026-01-01T10', usd: 0.5, calls: 1, unpricedCalls: 0 },
    // Older than the chart's 12 hours: not drawn.
    { hour: '2025-12-31T09', usd: 100, calls: 1, unpricedCalls: 0 },
  ],
};

describe('spend history', () => {
  it('adds the ledger hours to the session calls made after the read, never one before it', () => {
    const a = runEvents('x', 'r1');
    const at = (time: string, usd: number) => ({ ...a(modelResponse('m', usage(1), usd)), time });
    const spend = spendSlice.reduce(spendSlice.init([]), [
      a(started()),
      // Before the read: already in the ledger's 10:00 hour.
      at('2026-01-01T10:10:00.000Z', 0.5),
      at('2026-01-01T11:05:00.000Z', 0.25),
    ]);
    const chart = hourlyChart(history, spend);
    expect(chart).toHaveLength(12);
    expect(chart.slice(-4)).toEqual([1, 0, 0.5, 0.25]);
    expect(chart.reduce((x, y) => x + y, 0)).toBe(1.75);
    // Without a history the chart is the session's alone.
    expect(hourlyChart(undefined, spend).reduce((x, y) => x + y, 0)).toBe(0.75);
  });

  it('shows the chart of the last 12 hours from the ledger in the pane, and a failed read as such', async () => {
    const port: SpendHistoryPort = { read: () => Promise.resolve(history) };
    const app = renderApp({ panes: [spendPane], spendHistory: port });
    await vi.waitFor(() => expect(app.frame()).toContain('$1.50 (ledger + session)'));
    const failing: SpendHistoryPort = { read: () => Promise.reject(new Error('totals.json is damaged')) };
    cleanup();
    const broken = renderApp({ panes: [spendPane], spendHistory: failing });
    await vi.waitFor(() => expect(broken.frame()).toContain('(session only: totals.json'));
  });
});
