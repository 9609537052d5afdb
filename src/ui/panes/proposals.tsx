/**
 * The proposals pane: hill-climbing's proposed changes to a loop's harness, pending first, and for
 * the selected one its diff (coloured) beside the evaluation that measured it (stacked when the
 * terminal is narrow), with the failure signatures it came from. `y` accepts, `n` rejects with a
 * reason, `e` edits the diff first; `h` on the loops pane asks for a new one.
 */
import { Box, Text } from 'ink';
import { useEffect, useSyncExternalStore, type JSX } from 'react';
import type { EvaluationArm, ProposalView } from '../../core/proposals.js';
import { fit, formatUsd } from '../format.js';
import { useProposalsModel } from '../screen-context.js';
import type { Slice } from '../state.js';
import { theme } from '../theme.js';
import { usePaneSlice } from '../use-store.js';
import { useTerminalSize } from '../use-terminal-size.js';
import { PaneFrame, PaneTitle } from './frame.js';
import { definePane, type PaneProps } from './types.js';

/** Counts hill-climbing's proposal.changed events: each one means the list is worth reading again. */
export const proposalsSlice: Slice<number> = {
  init: () => 0,
  reduce: (count, events) => count + events.filter((event) => event.type === 'proposal.changed').length,
};

export const proposalsPane = definePane({
  id: 'proposals',
  title: 'proposals',
  slice: proposalsSlice,
  // Small until focused (the focused pane's share counts double): most of the time it is empty.
  minHeight: 4,
  grow: 1,
  component: ProposalsPane,
});

/** Below this width the evaluation goes under the diff instead of beside it. */
export const SIDE_BY_SIDE_COLUMNS = 110;
const EVAL_WIDTH = 46;
const LIST_ROWS = 4;

function ProposalsPane(props: PaneProps): JSX.Element {
  const model = useProposalsModel();
  const changes = usePaneSlice(proposalsPane.id, proposalsSlice);
  const { list } = useSyncExternalStore(model.subscribe, model.snapshot);
  const { columns } = useTerminalSize();
  const shown = props.height >= 3;
  useEffect(() => {
    // Read while the pane is drawn, and again whenever hill-climbing says a proposal changed.
    if (shown) model.refresh();
  }, [model, changes, shown]);

  const proposals = list.state === 'none' ? [] : list.proposals;
  const pending = proposals.filter((p) => p.status === 'pending').length;
  const selected = model.selected();
  const inner = Math.max(10, columns - 4);
  const room = Math.max(0, props.height - 3);
  const listRows = Math.min(LIST_ROWS, proposals.length, Math.max(1, Math.floor(room / 3)));
  const at = Math.max(
    0,
    proposals.findIndex((p) => p.id === selected?.id),
  );
  const first = Math.max(0, Math.min(at - listRows + 1, proposals.length - listRows));
  const detailRows = Math.max(0, room - listRows);

  let body: JSX.Element | JSX.Element[];
  if (model.port === undefined || (list.state === 'ready' && proposals.length === 0)) {
    body = (
      <Text color={theme.muted} wrap="truncate-end">
        no proposals yet{model.port === undefined ? '' : ': h on the loops pane asks for one'}
      </Text>
    );
  } else if (proposals.length === 0) {
    body = (
      <Text color={list.state === 'error' ? theme.bad : theme.muted} wrap="truncate-end">
        {list.state === 'error' ? `cannot read proposals: ${list.message}` : 'reading proposals…'}
      </Text>
    );
  } else {
    body = [
      ...proposals.slice(first, first + listRows).map((p) => (
        <Text key={p.id} wrap="truncate-end">
          <Text color={theme.accent}>{p.id === selected?.id ? '› ' : '  '}</Text>
          <Text color={statusColor(p)}>{fit(p.status, 11)}</Text>
          {fit(p.loop, 14)} <Text color={theme.tool}>{p.file}</Text>
          <Text color={theme.muted}>
            {' '}
            — {p.title} · {p.effect}
          </Text>
        </Text>
      )),
      ...(selected === undefined || detailRows === 0
        ? []
        : [<Detail key="detail" proposal={selected} rows={detailRows} width={inner} />]),
    ];
  }
  return (
    <PaneFrame height={props.height} focused={props.focused} title="proposals">
      <PaneTitle focused={props.focused}>
        proposals · {pending} pending{proposals.length > pending ? ` of ${proposals.length}` : ''}
        {props.focused ? ' · y accept · n reject · e edit' : ''}
      </PaneTitle>
      {body}
    </PaneFrame>
  );
}

function statusColor(p: ProposalView): string {
  if (p.status === 'pending') return theme.warn;
  if (p.status === 'accepted') return theme.good;
  if (p.status === 'regressed') return theme.bad;
  return theme.muted;
}

/** The selected proposal: diff and evaluation side by side (or stacked), evidence under them. */
function Detail(props: { proposal: ProposalView; rows: number; width: number }): JSX.Element {
  const { proposal: p, rows, width } = props;
  const evaluation = evaluationLines(p);
  const evidence = evidenceLines(p);
  const side = width + 4 >= SIDE_BY_SIDE_COLUMNS;
  const diff = p.diff.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
  const why =
    p.reason === undefined ? [] : [`${p.status}: ${p.reason}${p.commit ? ` (${p.commit.slice(0, 8)})` : ''}`];
  const under = [...why, ...evidence];
  if (side) {
    const top = Math.max(1, rows - Math.min(under.length, Math.floor(rows / 3)));
    return (
      <Box flexDirection="column" height={rows}>
        <Box height={top}>
          <Box flexDirection="column" width={width - EVAL_WIDTH - 1} marginRight={1}>
            {diff.slice(0, top).map((line, i) => (
              <DiffLine key={i} line={line} />
            ))}
          </Box>
          <Box flexDirection="column" width={EVAL_WIDTH}>
            {evaluation.slice(0, top).map((line, i) => (
              <Text key={i} wrap="truncate-end" color={i === 0 ? theme.muted : undefined}>
                {line}
              </Text>
            ))}
          </Box>
        </Box>
        {under.slice(0, rows - top).map((line, i) => (
          <Text key={i} wrap="truncate-end" color={theme.muted}>
            {line}
          </Text>
        ))}
      </Box>
    );
  }
  // Narrow: the verdict first (it is what a person decides on), then the diff, then the evidence.
  const lines = [
    ...evaluation.map((text) => ({ text, diff: false })),
    ...diff.map((text) => ({ text, diff: true })),
  ];
  const left = Math.max(0, rows - Math.min(under.length, 2));
  return (
    <Box flexDirection="column" height={rows}>
      {lines.slice(0, left).map((line, i) =>
        line.diff ? (
          <DiffLine key={i} line={line.text} />
        ) : (
          <Text key={i} wrap="truncate-end" color={i === 0 ? theme.muted : undefined}>
            {line.text}
          </Text>
        ),
      )}
      {under.slice(0, rows - Math.min(left, lines.length)).map((line, i) => (
        <Text key={`u${i}`} wrap="truncate-end" color={theme.muted}>
          {line}
        </Text>
      ))}
    </Box>
  );
}

function DiffLine(props: { line: string }): JSX.Element {
  const { line } = props;
  const color =
    line.startsWith('+++') || line.startsWith('---')
      ? theme.muted
      : line.startsWith('+')
        ? theme.good
        : line.startsWith('-')
          ? theme.bad
          : line.startsWith('@@')
            ? theme.accent
            : undefined;
  return (
    <Text wrap="truncate-end" color={color}>
      {line === '' ? ' ' : line}
    </Text>
  );
}

/** The evaluation as a small table: one row per arm, then the verdict and what it cost. */
export function evaluationLines(p: ProposalView): string[] {
  if (p.evaluation.length === 0) return ['not evaluated yet', p.effect];
  const row = (arm: EvaluationArm): string =>
    `${fit(arm.arm, 8)}${fit(`${arm.verified}/${arm.runs}`, 9)}${fit(`${Math.round(arm.rate * 100)}%`, 6)}${fit(
      formatUsd(arm.usd, false),
      9,
    )}${arm.usdPerVerified === null ? '–' : formatUsd(arm.usdPerVerified, false)}`;
  const cost = p.costUsd === null ? 'unpriced' : formatUsd(p.costUsd, false);
  return [
    `${fit('arm', 8)}${fit('verified', 9)}${fit('rate', 6)}${fit('$', 9)}$/verified`,
    ...p.evaluation.map(row),
    `${p.effect}`,
    `analysis and evaluation cost ${cost}`,
  ];
}

export function evidenceLines(p: ProposalView): string[] {
  return p.signatures.map((s) => {
    const where = s.evidence[0];
    const cite = where === undefined ? '' : ` (run ${where.run} #${where.seq}: ${where.excerpt})`;
    return `✗ ${s.summary} ×${s.count}${cite}`;
  });
}
