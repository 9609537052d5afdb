/**
 * The spend pane: tokens and dollars of this session, per loop and per model, the burn rate over
 * the last 15 minutes, a chart of the last 12 hours (the ledger's hourly rollups before the screen
 * opened, the session's calls after), the cache hit rate and dollars per verified run.
 */
import { Box, Text } from 'ink';
import { useEffect, useSyncExternalStore, type JSX } from 'react';
import { formatCount, formatUsd } from '../format.js';
import { useSpendHistory } from '../screen-context.js';
import { HISTORY_HOURS, hourlyChart } from '../spend-history.js';
import { theme } from '../theme.js';
import { usePaneSlice } from '../use-store.js';
import { PaneFrame, PaneTitle } from './frame.js';
import { cacheHitRate, sparkline, spendSlice, spentInLast, type SpendTotals } from './spend-slice.js';
import { definePane, type PaneProps } from './types.js';

export const spendPane = definePane({
  id: 'spend',
  title: 'spend',
  slice: spendSlice,
  minHeight: 6,
  grow: 1,
  component: SpendPane,
});

function usd(t: SpendTotals): string {
  const text = formatUsd(t.usd, t.unpricedCalls > 0);
  return t.unpricedCalls > 0 ? `${text} (${t.unpricedCalls} unpriced)` : text;
}

function tokens(t: SpendTotals): string {
  return `in ${formatCount(t.input)} · out ${formatCount(t.output)} · cache read ${formatCount(t.cacheRead)} · write ${formatCount(t.cacheWrite)}`;
}

function percent(rate: number | undefined): string {
  return rate === undefined ? '–' : `${Math.round(rate * 100)}%`;
}

function SpendPane(props: PaneProps): JSX.Element {
  const spend = usePaneSlice(spendPane.id, spendSlice);
  const historyModel = useSpendHistory();
  const history = useSyncExternalStore(historyModel.subscribe, historyModel.snapshot);
  const shown = props.height >= 3;
  useEffect(() => {
    if (shown) historyModel.load();
  }, [historyModel, shown]);
  const past = history.state === 'ready' ? history.history : undefined;
  const chart = hourlyChart(past, spend);
  const burn = spentInLast(spend, 15);
  const perVerified =
    spend.verifiedRuns === 0
      ? '–'
      : formatUsd(spend.total.usd / spend.verifiedRuns, spend.total.unpricedCalls > 0);
  const source =
    history.state === 'ready'
      ? 'ledger + session'
      : history.state === 'error'
        ? `session only: ${history.message}`
        : history.state === 'loading'
          ? 'reading the ledger…'
          : 'session only';
  const rows = [
    ...Object.entries(spend.byLoop)
      .sort((a, b) => b[1].usd - a[1].usd)
      .map(([name, t]) => ({ key: `loop:${name}`, label: name, t })),
    ...Object.entries(spend.byModel)
      .sort((a, b) => b[1].usd - a[1].usd)
      .map(([name, t]) => ({ key: `model:${name}`, label: name, t })),
  ];
  const room = Math.max(0, props.height - 6);
  const width = Math.min(28, Math.max(8, ...rows.map((r) => r.label.length + 2)));
  return (
    <PaneFrame height={props.height} focused={props.focused} title="spend">
      <PaneTitle focused={props.focused}>spend · this session</PaneTitle>
      <Text wrap="truncate-end">
        <Text bold>total {usd(spend.total)}</Text>
        <Text color={theme.muted}>
          {' '}
          · per verified run {perVerified} ({spend.verifiedRuns}/{spend.endedRuns} runs verified) · cache hit{' '}
          {percent(cacheHitRate(spend.total))}
        </Text>
      </Text>
      <Text wrap="truncate-end" color={theme.muted}>
        {tokens(spend.total)}
      </Text>
      <Text wrap="truncate-end" color={theme.muted}>
        burn {formatUsd(burn, false)} in 15 min ({formatUsd(burn * 4, false)}/h) · last {HISTORY_HOURS} h{' '}
        <Text color={theme.accent}>▕{sparkline(chart)}▏</Text>{' '}
        {formatUsd(
          chart.reduce((a, b) => a + b, 0),
          false,
        )}{' '}
        ({source})
      </Text>
      {rows.length === 0 && room === 0 ? null : rows.length === 0 ? (
        <Text color={theme.muted} wrap="truncate-end">
          no model calls yet in this session (history: loops spend)
        </Text>
      ) : (
        rows.slice(0, room).map((row) => (
          <Box key={row.key} height={1}>
            <Box width={width} flexShrink={0}>
              <Text wrap="truncate-end" color={row.key.startsWith('model:') ? theme.tool : undefined}>
                {row.label}
              </Text>
            </Box>
            <Box width={24} flexShrink={0}>
              <Text color={row.t.unpricedCalls > 0 ? theme.warn : undefined}>{usd(row.t)}</Text>
            </Box>
            <Text wrap="truncate-end" color={theme.muted}>
              {tokens(row.t)} · hit {percent(cacheHitRate(row.t))}
            </Text>
          </Box>
        ))
      )}
    </PaneFrame>
  );
}
