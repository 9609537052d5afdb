import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { BINDINGS } from '../keymap.js';
import { theme } from '../theme.js';

const KEYS_WIDTH = Math.max(...BINDINGS.map((binding) => binding.keys.join(' / ').length)) + 2;
const LABEL_WIDTH = Math.max(...BINDINGS.map((binding) => binding.label.length)) + 2;

/** Generated from the keymap, so every binding is listed and none is described twice. */
export function HelpOverlay(props: { height: number }): JSX.Element {
  return (
    <Box
      flexDirection="column"
      height={props.height}
      flexShrink={0}
      overflow="hidden"
      borderStyle="round"
      paddingX={1}
      borderColor={theme.focusBorder}
    >
      <Text bold color={theme.accent}>
        keys <Text color={theme.muted}>(? or esc to close)</Text>
      </Text>
      {BINDINGS.map((binding) => (
        <Box key={binding.id} height={1}>
          <Box width={KEYS_WIDTH} flexShrink={0}>
            <Text color={theme.accent}>{binding.keys.join(' / ')}</Text>
          </Box>
          <Box width={LABEL_WIDTH} flexShrink={0}>
            <Text bold>{binding.label}</Text>
          </Box>
          <Text wrap="truncate-end" color={theme.muted}>
            {binding.description}
          </Text>
        </Box>
      ))}
    </Box>
  );
}
