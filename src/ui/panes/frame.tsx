/** The bordered box every pane draws in, and the one-line title a pane shrinks to without room. */
import { Box, Text } from 'ink';
import type { JSX, ReactNode } from 'react';
import { theme } from '../theme.js';

export function PaneFrame(props: {
  height: number;
  focused: boolean;
  title: string;
  children: ReactNode;
}): JSX.Element {
  if (props.height < 3) {
    return (
      <Box height={props.height} flexShrink={0} overflowY="hidden">
        <Text wrap="truncate-end" color={props.focused ? theme.accent : theme.muted}>
          {`─ ${props.title} (tab) `}
          {'─'.repeat(200)}
        </Text>
      </Box>
    );
  }
  return (
    <Box
      flexDirection="column"
      height={props.height}
      flexShrink={0}
      overflowY="hidden"
      borderStyle="round"
      paddingX={1}
      borderColor={props.focused ? theme.focusBorder : theme.border}
    >
      {props.children}
    </Box>
  );
}

/** A pane's first line: its title, highlighted when focused. */
export function PaneTitle(props: { focused: boolean; children: ReactNode }): JSX.Element {
  return (
    <Text wrap="truncate-end" color={props.focused ? theme.accent : theme.muted}>
      {props.children}
    </Text>
  );
}
