import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { needsYou } from '../needs.js';
import type { LoopStatus, UiState } from '../state.js';
import { theme } from '../theme.js';
import { useUiSelector } from '../use-store.js';

const count = (state: UiState, match: (status: LoopStatus) => boolean): number =>
  state.loops.filter((view) => match(view.status)).length;

/** One line of counts. A paused loop is not counted as running: it is waiting, and says so. */
export function Header(): JSX.Element {
  const total = useUiSelector((state) => state.loops.length);
  const running = useUiSelector((state) => count(state, (s) => s === 'running' || s === 'stopping'));
  const paused = useUiSelector((state) => count(state, (s) => s === 'paused'));
  const verified = useUiSelector((state) => count(state, (status) => status === 'verified'));
  const failed = useUiSelector((state) => count(state, (status) => status === 'failed'));
  const fleet = useUiSelector((state) => state.fleet);
  const opening = useUiSelector((state) => state.opening === true);
  const needs =
    useUiSelector((state) => state.loops.filter((view) => needsYou(view) !== undefined).length) +
    (fleet?.state === 'waiting' ? 1 : 0);
  return (
    <Box height={1}>
      <Text wrap="truncate-end">
        <Text bold color={theme.accent}>
          loops
        </Text>
        <Text color={theme.muted}> {opening ? 'opening…' : total} · </Text>
        <Text color={running > 0 ? theme.accent : theme.muted}>{running} running</Text>
        {paused > 0 && <Text color={theme.warn}> · {paused} paused</Text>}
        <Text color={theme.muted}> · </Text>
        <Text color={verified > 0 ? theme.good : theme.muted}>{verified} verified</Text>
        <Text color={theme.muted}> · </Text>
        <Text color={failed > 0 ? theme.bad : theme.muted}>{failed} failed</Text>
        {needs > 0 && (
          <Text color={theme.warn} bold>
            {' '}
            · ⚑ {needs} need{needs === 1 ? 's' : ''} you
          </Text>
        )}
        {fleet !== undefined && (
          <Text color={theme.warn}>
            {' '}
            · {fleet.state === 'waiting' ? 'fleet waiting' : 'fleet warning'}: {fleet.reason}
          </Text>
        )}
      </Text>
    </Box>
  );
}
