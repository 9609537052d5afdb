import { Box, Text } from 'ink';
import type { JSX } from 'react';
import type { LoopStatus, UiState } from '../state.js';
import { isActive } from '../state.js';
import { theme } from '../theme.js';
import { useUiSelector } from '../use-store.js';

const count = (state: UiState, match: (status: LoopStatus) => boolean): number =>
  state.loops.filter((view) => match(view.status)).length;

export function Header(): JSX.Element {
  const total = useUiSelector((state) => state.loops.length);
  const running = useUiSelector((state) => count(state, isActive));
  const verified = useUiSelector((state) => count(state, (status) => status === 'verified'));
  const failed = useUiSelector((state) => count(state, (status) => status === 'failed'));
  return (
    <Box height={1}>
      <Text wrap="truncate-end">
        <Text bold color={theme.accent}>
          loops
        </Text>
        <Text color={theme.muted}> {total} · </Text>
        <Text color={running > 0 ? theme.accent : theme.muted}>{running} running</Text>
        <Text color={theme.muted}> · </Text>
        <Text color={verified > 0 ? theme.good : theme.muted}>{verified} verified</Text>
        <Text color={theme.muted}> · </Text>
        <Text color={failed > 0 ? theme.bad : theme.muted}>{failed} failed</Text>
      </Text>
    </Box>
  );
}
