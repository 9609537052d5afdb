/** The loops pane: one row per loop with its status, budget bars and, when it needs you, why. */
import { Box, Text } from 'ink';
import { memo, type JSX } from 'react';
import { budgetBar, formatUsd } from '../format.js';
import { windowStart } from '../layout.js';
import { needsYou } from '../needs.js';
import type { LoopView, UiState } from '../state.js';
import { STATUS_COLOR, theme, type StatusLabel } from '../theme.js';
import { useUiSelector } from '../use-store.js';
import { PaneFrame } from './frame.js';
import { definePane, type PaneProps } from './types.js';

const MAX_NAME = 24;
const BAR = 4;

export const loopsPane = definePane({
  id: 'loops',
  title: 'loops',
  minHeight: 3,
  grow: 0,
  preferShare: 0.4,
  maxHeight: (state: UiState) => Math.max(1, state.loops.length) + 2 + (state.queue.length > 0 ? 1 : 0),
  component: LoopsPane,
});

function LoopsPane(props: PaneProps): JSX.Element {
  const count = useUiSelector((state) => state.loops.length);
  const selected = useUiSelector((state) => state.selected);
  const queue = useUiSelector((state) => state.queue);
  const nameWidth = useUiSelector((state) =>
    Math.min(MAX_NAME, Math.max(4, ...state.loops.map((view) => view.info.name.length))),
  );
  const rows = Math.max(0, props.height - 2 - (queue.length > 0 ? 1 : 0));
  const start = windowStart(selected, count, rows);
  const indexes = Array.from({ length: Math.max(0, Math.min(rows, count - start)) }, (_, i) => start + i);
  return (
    <PaneFrame height={props.height} focused={props.focused} title="loops">
      {count === 0 ? (
        <Text color={theme.muted} wrap="truncate-end">
          no loops yet: add loops/NAME/LOOP.md (npx loops new NAME)
        </Text>
      ) : (
        indexes.map((index) => (
          <LoopRow key={index} index={index} selected={index === selected} nameWidth={nameWidth} />
        ))
      )}
      {queue.length > 0 && (
        <Text wrap="truncate-end" color={theme.warn}>
          queued behind the limit on runs at once: {queue.map((q) => `${q.loop} (${q.trigger})`).join(', ')}
        </Text>
      )}
    </PaneFrame>
  );
}

/** Memoised and subscribed to its own LoopView: events for other loops do not re-render it. */
const LoopRow = memo(function LoopRow(props: {
  index: number;
  selected: boolean;
  nameWidth: number;
}): JSX.Element | null {
  const view = useUiSelector((state) => state.loops[props.index]);
  if (view === undefined) return null;
  const label = statusLabel(view);
  const need = needsYou(view);
  return (
    <Box height={1}>
      <Box width={2} flexShrink={0}>
        <Text color={theme.accent}>{props.selected ? '›' : ' '}</Text>
      </Box>
      <Box width={2} flexShrink={0}>
        <Text color={theme.warn}>{need ? '⚑' : ' '}</Text>
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
            <Text wrap="truncate-end" color={theme.muted}>
              {view.info.trigger}
            </Text>
          </Box>
          <Box width={8} flexShrink={0}>
            <Text>{fraction(view.iteration, view.maxIterations)}</Text>
          </Box>
          {need || view.run === undefined ? (
            // What needs a person matters more than the bars: it gets the room.
            <Box flexGrow={1}>
              <Text wrap="truncate-end" color={need ? theme.warn : theme.muted}>
                {need ? need.reason : view.info.description}
              </Text>
            </Box>
          ) : (
            <>
              <Bars view={view} />
              <Box flexGrow={1}>
                <Text wrap="truncate-end" color={theme.muted}>
                  {view.lastReason ?? view.info.description}
                </Text>
              </Box>
            </>
          )}
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

/** One small bar per budget cap; the numbers of the two a person reads most beside them. */
function Bars(props: { view: LoopView }): JSX.Element {
  const { view } = props;
  const minutes =
    view.startedAt !== undefined && view.lastAt !== undefined ? (view.lastAt - view.startedAt) / 60_000 : 0;
  const bars: Array<[string, number, number | undefined, string]> = [
    ['it', view.iteration, view.maxIterations, ''],
    ['tools', view.toolCalls, view.maxToolCalls, ` ${fraction(view.toolCalls, view.maxToolCalls)}`],
    ['$', view.usd, view.maxUsd, ` ${formatUsd(view.usd, view.unpriced)}`],
    ['tok', view.tokens, view.maxTokens, ''],
    ['min', minutes, view.maxMinutes, ''],
  ];
  return (
    <Box flexShrink={0} marginRight={1}>
      <Text color={theme.muted} wrap="truncate-end">
        {bars
          .map(
            ([name, used, max, value]) =>
              `${name === 'it' ? '' : `${name} `}${budgetBar(used, max, BAR)}${value}`,
          )
          .join(' ')}
      </Text>
    </Box>
  );
}

function statusLabel(view: LoopView): StatusLabel {
  return view.info.problem !== undefined && view.status === 'idle' ? 'invalid' : view.status;
}

function fraction(used: number, max: number | undefined): string {
  return max === undefined ? String(used) : `${used}/${max}`;
}
