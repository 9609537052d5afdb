/** Help, generated from the keymap: every binding listed once, in as many columns as the rows need. */
import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { BINDINGS, scopeLabel, type Binding } from '../keymap.js';
import { theme } from '../theme.js';

const keysOf = (binding: Binding): string => binding.keys.join(' / ');

export function HelpOverlay(props: { height: number; width: number }): JSX.Element {
  const rows = Math.max(1, props.height - 3);
  const columns = Math.ceil(BINDINGS.length / rows);
  const per = Math.ceil(BINDINGS.length / columns);
  const keysWidth = Math.max(...BINDINGS.map((b) => keysOf(b).length)) + 2;
  const labelWidth = Math.max(...BINDINGS.map((b) => b.label.length)) + 2;
  const groups = Array.from({ length: columns }, (_, i) => BINDINGS.slice(i * per, (i + 1) * per));
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
        keys <Text color={theme.muted}>(? or esc to close; scope in brackets)</Text>
      </Text>
      <Box>
        {groups.map((group, i) => (
          <Box key={i} flexDirection="column" width={`${Math.floor(100 / columns)}%`}>
            {group.map((binding) => (
              <Box key={binding.id} height={1}>
                <Box width={keysWidth} flexShrink={0}>
                  <Text color={theme.accent}>{keysOf(binding)}</Text>
                </Box>
                <Box width={labelWidth} flexShrink={0}>
                  <Text bold>{binding.label}</Text>
                </Box>
                <Text wrap="truncate-end" color={theme.muted}>
                  [{scopeLabel(binding.scope)}] {binding.description}
                </Text>
              </Box>
            ))}
          </Box>
        ))}
      </Box>
    </Box>
  );
}
