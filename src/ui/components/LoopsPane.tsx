import { Box, Text } from 'ink';
import { memo, type JSX } from 'react';
import { budgetBar, formatCount, formatUsd } from '../format.js';
import { windowStart } from '../layout.js';
import type { LoopView } from '../state.js';
import { STATUS_COLOR, theme, type StatusLabel } from '../theme.js';
import { useUiSelector } from '../use-store.js';

const MAX_NAME = 24;
const BAR_WIDTH = 10;

export function LoopsPane(props: { rows: number; focused: boolean }): JSX.Element {
  const count = useUiSelector((state) => state.loops.length);
  const selected = useUiSelector((state) => state.selected);
  const nameWidth = useUiSelector((state) =>
    Math.min(MAX_NAME, Math.max(4, ...state.loops.map((view) => view.info.name.length))),
  );
  // The dollars column appears once any loop has spent something (or could not be priced).
  const showSpend = useUiSelector((state) => state.loops.some((view) => view.usd > 0 || view.unpriced));
  const start = windowStart(selected, count, props.rows);
  const indexes = Array.from({ length: Math.min(props.rows, count - start) }, (_, i) => start + i);
  return (
    <Box
      flexDirection="column"
      height={props.rows + 2}
      flexShrink={0}
      borderStyle="round"
      paddingX={1}
      borderColor={props.focused ? theme.focusBorder : theme.border}
    >
      {count === 0 ? (
        <Text color={theme.muted} wrap="truncate-end">
          no loops yet: add loops/NAME/LOOP.md (npx loops new NAME)
        </Text>
      ) : (
        indexes.map((index) => (
          <LoopRow
            key={index}
            index={index}
            selected={index === selected}
            nameWidth={nameWidth}
            showSpend={showSpend}
          />
        ))
      )}
    </Box>
  );
}

/** Memoised and subscribed to its own LoopView: events for other loops do not re-render it. */
const LoopRow = memo(function LoopRow(props: {
  index: number;
  selected: boolean;
  nameWidth: number;
  showSpend: boolean;
}): JSX.Element | null {
  const view = useUiSelector((state) => state.loops[props.index]);
  if (view === undefined) return null;
  const label = statusLabel(view);
  return (
    <Box height={1}>
      <Box width={2} flexShrink={0}>
        <Text color={theme.accent}>{props.selected ? '›' : ' '}</Text>
      </Box>
      <Box width={props.nameWidth + 2} flexShrink={0}>
        <Text bold={props.selected} wrap="truncate-end">
          {view.info.name}
        </Text>
      </Box>
      <Box width={10} flexShrink={0}>
        <Text color={STATUS_COLOR[label]}>{label}</Text>
      </Box>
      {view.info.problem === undefined ? (
        <>
          <Box width={8} flexShrink={0}>
            <Text>{fraction(view.iteration, view.maxIterations)}</Text>
          </Box>
          <Box width={BAR_WIDTH + 2} flexShrink={0}>
            <Text color={theme.muted}>{budgetBar(view.iteration, view.maxIterations, BAR_WIDTH)}</Text>
          </Box>
          <Box width={16} flexShrink={0}>
            <Text color={theme.muted}>tools {fraction(view.toolCalls, view.maxToolCalls)}</Text>
          </Box>
          <Box width={12} flexShrink={0}>
            <Text color={theme.muted}>tok {formatCount(view.tokens)}</Text>
          </Box>
          {props.showSpend && (
            <Box width={12} flexShrink={0}>
              <Text color={view.unpriced ? theme.warn : theme.muted}>
                {formatUsd(view.usd, view.unpriced)}
              </Text>
            </Box>
          )}
          <Box flexGrow={1}>
            <Text wrap="truncate-end" color={theme.muted}>
              {view.lastReason ?? view.info.description}
            </Text>
          </Box>
        </>
      ) : (
        // An invalid loop has no counters worth showing; its problem gets the room.
        <Box flexGrow={1}>
          <Text wrap="truncate-end" color={theme.bad}>
            {view.info.problem}
          </Text>
        </Box>
      )}
    </Box>
  );
});

function statusLabel(view: LoopView): StatusLabel {
  return view.info.problem !== undefined && view.status === 'idle' ? 'invalid' : view.status;
}

function fraction(used: number, max: number | undefined): string {
  return max === undefined ? String(used) : `${used}/${max}`;
}
