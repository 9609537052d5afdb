import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { BINDINGS } from '../keymap.js';
import { theme } from '../theme.js';

const HINTS = BINDINGS.map((binding) => `${binding.keys[0] ?? ''} ${binding.label}`).join('  ');

export interface Prompt {
  now: boolean;
  loop: string;
  text: string;
}

/** Two lines: the prompt or a notice, then the key hints (generated from the keymap). */
export function Footer(props: { prompt?: Prompt; notice?: string }): JSX.Element {
  return (
    <Box flexDirection="column" height={2} flexShrink={0}>
      {props.prompt === undefined ? (
        <Text wrap="truncate-end" color={theme.warn}>
          {props.notice ?? ' '}
        </Text>
      ) : (
        <Text wrap="truncate-start">
          <Text color={theme.human}>
            {props.prompt.now ? `! interrupt ${props.prompt.loop} now` : `: instruct ${props.prompt.loop}`}{' '}
            ›{' '}
          </Text>
          {props.prompt.text}
          <Text inverse> </Text>
          <Text color={theme.muted}> (enter send · esc cancel)</Text>
        </Text>
      )}
      <Text wrap="truncate-end" color={theme.muted}>
        {HINTS}
      </Text>
    </Box>
  );
}
