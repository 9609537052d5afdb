/** The stalls pane: the selected loop's progress signals per iteration, and the verdict with its reason. */
import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { theme } from '../theme.js';
import { usePaneSlice, useUiSelector } from '../use-store.js';
import { PaneFrame, PaneTitle } from './frame.js';
import { describeSignals, stallsSlice } from './stalls-slice.js';
import { definePane, type PaneProps } from './types.js';

export const stallsPane = definePane({
  id: 'stalls',
  title: 'stalls',
  slice: stallsSlice,
  minHeight: 5,
  grow: 1,
  component: StallsPane,
});

function StallsPane(props: PaneProps): JSX.Element {
  const name = useUiSelector((state) => state.loops[state.selected]?.info.name ?? '');
  const run = useUiSelector((state) => state.loops[state.selected]?.run);
  const all = usePaneSlice(stallsPane.id, stallsSlice);
  const stalls = all[name];
  const rows = (stalls?.rows ?? []).filter((row) => row.run === run);
  const verdict = stalls?.verdict?.run === run ? stalls?.verdict : undefined;
  const room = Math.max(0, props.height - 4);
  return (
    <PaneFrame height={props.height} focused={props.focused} title="stalls">
      <PaneTitle focused={props.focused}>stalls · {name || '–'}</PaneTitle>
      {verdict === undefined ? (
        <Text wrap="truncate-end" color={theme.muted}>
          {rows.length === 0
            ? 'no progress signals yet (one per iteration)'
            : 'no stall: progress within the window'}
        </Text>
      ) : verdict.state === 'stalled' ? (
        <Text wrap="truncate-end" color={theme.warn}>
          ⚠ stalled at iteration {verdict.iteration} ({verdict.action}): {verdict.reason}
        </Text>
      ) : (
        <Text wrap="truncate-end" color={theme.good}>
          ✓ recovered at iteration {verdict.iteration}: {verdict.reason}
        </Text>
      )}
      {rows.slice(-room).map((row) => (
        <Box key={`${row.run}.${row.iteration}`} height={1}>
          <Box width={7} flexShrink={0}>
            <Text color={theme.muted}>it {row.iteration}</Text>
          </Box>
          <Box width={18} flexShrink={0}>
            <Text color={row.progress ? theme.good : theme.warn}>
              {row.progress ? '✓ progress' : `✗ quiet ${row.quiet}/${row.window}`}
            </Text>
          </Box>
          <Text wrap="truncate-end" color={theme.muted}>
            {describeSignals(row.signals)}
          </Text>
        </Box>
      ))}
    </PaneFrame>
  );
}
