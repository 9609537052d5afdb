import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { theme, traceColor } from '../theme.js';
import { useUiSelector } from '../use-store.js';

/** The selected loop's trace: a windowed tail, `scroll` lines up from the newest. */
export function TracePane(props: {
  height: number;
  lines: number;
  scroll: number;
  focused: boolean;
}): JSX.Element {
  const view = useUiSelector((state) => state.loops[state.selected]);
  const trace = view?.trace ?? [];
  const scroll = Math.max(0, Math.min(props.scroll, trace.length - props.lines));
  const end = trace.length - scroll;
  const shown = trace.slice(Math.max(0, end - props.lines), end);
  const title = view === undefined ? 'trace' : titleFor(view.info.name, view.run, view.branch);
  return (
    <Box
      flexDirection="column"
      height={props.height}
      flexShrink={0}
      overflow="hidden"
      borderStyle="round"
      paddingX={1}
      borderColor={props.focused ? theme.focusBorder : theme.border}
    >
      <Text wrap="truncate-end" color={props.focused ? theme.accent : theme.muted}>
        {title}
        {scroll > 0 ? `  (↓ ${scroll} newer)` : ''}
      </Text>
      {shown.length === 0 ? (
        <Text color={theme.muted} wrap="truncate-end">
          nothing yet: press enter to start the loop
        </Text>
      ) : (
        shown.map((line, i) => (
          <Text key={i} wrap="truncate-end" color={traceColor(line)}>
            {line.kind === 'model' ? `  ${line.text}` : line.text}
          </Text>
        ))
      )}
    </Box>
  );
}

function titleFor(name: string, run: string | undefined, branch: string | undefined): string {
  const parts = [`trace · ${name}`];
  if (run !== undefined) parts.push(`run ${run}`);
  if (branch !== undefined) parts.push(branch);
  return parts.join(' · ');
}
