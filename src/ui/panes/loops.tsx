/**
 * The loops pane: one row per loop with its status, budget bars and, when it needs you, why; for a
 * scheduled loop when it is next due, for a goal how far it got across runs, and why its starts wait.
 * A row is one Text of padded spans: Ink lays out and writes one node per row, not ten.
 */
import { Text } from 'ink';
import { memo, type JSX } from 'react';
import type { GoalProgress } from '../../core/control.js';
import { budgetBar, fit, formatDue, formatUsd } from '../format.js';
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
  const opening = useUiSelector((state) => state.opening === true);
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
          {opening
            ? 'opening the loops… (state, worktrees, recovery)'
            : 'no loops yet: add loops/NAME/LOOP.md (npx loops new NAME)'}
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
  const lead = (
    <>
      <Text color={theme.accent}>{props.selected ? '› ' : '  '}</Text>
      <Text color={theme.warn}>{need ? '⚑ ' : '  '}</Text>
      <Text bold={props.selected}>{fit(view.info.name, props.nameWidth)}</Text>
      {'  '}
      <Text color={STATUS_COLOR[label]}>{fit(label, 10)}</Text>
    </>
  );
  // An invalid loop has no counters worth showing; its problem gets the room.
  if (view.info.problem !== undefined) {
    return (
      <Text wrap="truncate-end">
        {lead}
        <Text color={theme.bad}>{view.info.problem}</Text>
      </Text>
    );
  }
  const detail = rowDetail(view, need?.reason);
  return (
    <Text wrap="truncate-end">
      {lead}
      <Text color={theme.muted}>{fit(view.info.trigger, 8)}</Text>
      {fit(fraction(view.iteration, view.maxIterations), 8)}
      {/* What needs a person matters more than the bars: it gets the room. */}
      {need === undefined && view.run !== undefined && <Text color={theme.muted}>{bars(view)} </Text>}
      <Text color={detail.warn ? theme.warn : theme.muted}>{detail.text}</Text>
    </Text>
  );
});

/** The row's last column: why it needs you, why its starts wait, a goal, the next due time, or what it is. */
export function rowDetail(view: LoopView, need: string | undefined): { text: string; warn: boolean } {
  if (need !== undefined) return { text: need, warn: true };
  const { info } = view;
  if (info.waiting !== undefined) return { text: `starts wait: ${info.waiting}`, warn: true };
  const parts: string[] = [];
  if (info.goal !== undefined) parts.push(goalText(info.goal));
  if (info.nextDue !== undefined && !isRunning(view)) parts.push(`next ${formatDue(info.nextDue)}`);
  const said = view.run === undefined ? info.description : (view.lastReason ?? info.description);
  if (parts.length === 0) return { text: said, warn: false };
  return { text: parts.join(' · '), warn: info.goal?.state === 'spent' };
}

function isRunning(view: LoopView): boolean {
  return view.status === 'running' || view.status === 'paused' || view.status === 'stopping';
}

/** A goal across its runs: "goal active · run 2/10 · $0.40/$5.00". */
export function goalText(goal: GoalProgress): string {
  const usd =
    goal.maxUsd === null
      ? formatUsd(goal.usd, false)
      : `${formatUsd(goal.usd, false)}/${formatUsd(goal.maxUsd, false)}`;
  const next = goal.nextAt === undefined ? '' : ` · next try ${formatDue(goal.nextAt)}`;
  const why = goal.state === 'active' || goal.reason === '' ? '' : ` (${goal.reason})`;
  return `goal ${goal.state}${why} · run ${goal.runs}/${goal.maxRuns} · ${usd}${next}`;
}

/** One small bar per budget cap; the numbers of the two a person reads most beside them. */
function bars(view: LoopView): string {
  const minutes =
    view.startedAt !== undefined && view.lastAt !== undefined ? (view.lastAt - view.startedAt) / 60_000 : 0;
  const spec: Array<[string, number, number | undefined, string]> = [
    ['it', view.iteration, view.maxIterations, ''],
    ['tools', view.toolCalls, view.maxToolCalls, ` ${fraction(view.toolCalls, view.maxToolCalls)}`],
    ['$', view.usd, view.maxUsd, ` ${formatUsd(view.usd, view.unpriced)}`],
    ['tok', view.tokens, view.maxTokens, ''],
    ['min', minutes, view.maxMinutes, ''],
  ];
  return spec
    .map(
      ([name, used, max, value]) => `${name === 'it' ? '' : `${name} `}${budgetBar(used, max, BAR)}${value}`,
    )
    .join(' ');
}

function statusLabel(view: LoopView): StatusLabel {
  return view.info.problem !== undefined && view.status === 'idle' ? 'invalid' : view.status;
}

function fraction(used: number, max: number | undefined): string {
  return max === undefined ? String(used) : `${used}/${max}`;
}
