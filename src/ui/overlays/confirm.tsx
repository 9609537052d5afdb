/** A yes/no question before anything that cannot be undone. */
import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { theme } from '../theme.js';

export function ConfirmOverlay(props: { question: string; height: number }): JSX.Element {
  return (
    <Box
      flexDirection="column"
      height={props.height}
      overflow="hidden"
      borderStyle="double"
      paddingX={1}
      borderColor={theme.bad}
      flexShrink={0}
    >
      <Text wrap="wrap" color={theme.bad}>
        {props.question}
      </Text>
      <Text>
        <Text bold>y</Text> yes · <Text bold>n</Text> / <Text bold>esc</Text> no
      </Text>
    </Box>
  );
}
