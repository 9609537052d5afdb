/**
 * A tool call waiting for a person, shown in full: the loop, the tool, every argument, the rule
 * that matched. Bound to one approval id; if it was answered elsewhere (a timeout, a stop), it says
 * so and a key cannot answer the next call by accident.
 */
import { Box, Text } from 'ink';
import type { JSX } from 'react';
import type { PendingApproval } from '../state.js';
import { theme } from '../theme.js';
import { useUiSelector } from '../use-store.js';

function pretty(input: unknown): string[] {
  const text = typeof input === 'string' ? input : (JSON.stringify(input, null, 2) ?? String(input));
  return text.split('\n');
}

/**
 * The arguments as the screen rows they take at `width`: a long line is cut into rows here rather
 * than left to wrap, so the count of what fits (and of what does not) is a count of rows.
 */
export function argumentRows(input: unknown, width: number): string[] {
  const rows: string[] = [];
  const size = Math.max(1, width);
  for (const line of pretty(input)) {
    const chars = Array.from(line);
    if (chars.length === 0) rows.push('');
    for (let i = 0; i < chars.length; i += size) rows.push(chars.slice(i, i + size).join(''));
  }
  return rows;
}

export function ApprovalOverlay(props: {
  height: number;
  width: number;
  approval: PendingApproval;
}): JSX.Element {
  const { approval } = props;
  const stillPending = useUiSelector((state) =>
    state.loops.some((view) => view.approvals.some((a) => a.approvalId === approval.approvalId)),
  );
  const waiting = useUiSelector((state) => state.loops.reduce((n, view) => n + view.approvals.length, 0));
  // Columns: borders 2, padding 2.
  const args = argumentRows(approval.input, props.width - 4);
  // Rows: borders 2, title, tool, rule, blank, keys; the arguments get the rest and say what was cut.
  const room = Math.max(1, props.height - 7);
  const shown =
    args.length > room ? [...args.slice(0, room - 1), `… ${args.length - room + 1} more lines`] : args;
  return (
    <Box
      flexDirection="column"
      height={props.height}
      flexShrink={0}
      overflow="hidden"
      borderStyle="double"
      paddingX={1}
      borderColor={theme.warn}
    >
      <Text bold color={theme.warn} wrap="truncate-end">
        approval needed · {approval.loop} · run {approval.run}
        {waiting > 1 ? ` · ${waiting - 1} more waiting` : ''}
      </Text>
      <Text wrap="truncate-end">
        tool <Text bold>{approval.tool}</Text>
        <Text color={theme.muted}> · call {approval.callId}</Text>
      </Text>
      <Text wrap="truncate-end">
        rule <Text color={theme.accent}>{approval.rule}</Text>
        <Text color={theme.muted}> matched </Text>
        {approval.matched}
      </Text>
      {shown.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line}
        </Text>
      ))}
      <Box flexGrow={1} />
      {stillPending ? (
        <Text wrap="truncate-end">
          <Text bold color={theme.good}>
            a
          </Text>{' '}
          approve ·{' '}
          <Text bold color={theme.bad}>
            d
          </Text>{' '}
          deny with a reason · <Text bold>esc</Text> later
          <Text color={theme.muted}>
            {approval.timeoutMs === null
              ? ' · waits until answered'
              : ` · denied by itself after ${Math.round(approval.timeoutMs / 1000)} s`}
          </Text>
        </Text>
      ) : (
        <Text color={theme.muted} wrap="truncate-end">
          already answered (timeout, stop or another screen) · esc to close
        </Text>
      )}
    </Box>
  );
}
