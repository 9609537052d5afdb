/**
 * The run review pane: the selected loop's finished run, its diff against the commit it started
 * from, coloured as git prints it, scrollable, with `[` `]` jumping between files. `m` merges it
 * into the branch it started from, `x` discards it after a confirmation (global keys).
 */
import { Text } from 'ink';
import { useEffect, useSyncExternalStore, type JSX } from 'react';
import { finishedRun } from '../review-port.js';
import { useReviewModel } from '../screen-context.js';
import { theme } from '../theme.js';
import { useUiSelector } from '../use-store.js';
import { PaneFrame, PaneTitle } from './frame.js';
import { definePane, type PaneProps } from './types.js';

export const reviewPane = definePane({
  id: 'review',
  title: 'review',
  minHeight: 6,
  grow: 2,
  component: ReviewPane,
});

/** Diff lines a pane of this height shows: less its borders and its title line. */
export function reviewRows(height: number): number {
  return Math.max(0, height - 3);
}

function ReviewPane(props: PaneProps): JSX.Element {
  const view = useUiSelector((state) => state.loops[state.selected]);
  const ref = finishedRun(view);
  const model = useReviewModel();
  const branch = ref?.branch;
  const shown = props.height >= 3;
  useEffect(() => {
    // Loaded only while the pane is drawn: selecting loops does not run git for a hidden pane.
    if (ref !== undefined && shown) model.get(ref);
    // ref is rebuilt each render; its branch names the run.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model, branch, shown]);
  const entry = useSyncExternalStore(model.subscribe, () =>
    branch === undefined ? undefined : model.peek(branch),
  );
  const rows = reviewRows(props.height);

  let title = 'review';
  let body: JSX.Element | JSX.Element[];
  if (ref === undefined) {
    body = (
      <Text color={theme.muted} wrap="truncate-end">
        {view?.status === 'running' || view?.status === 'paused'
          ? 'the run is still going: its diff shows here once it ends'
          : 'no finished run to review for this loop yet'}
      </Text>
    );
  } else {
    title = `review · ${ref.branch} → ${ref.baseBranch ?? ref.base ?? '?'}`;
    if (entry === undefined || entry.state === 'loading') {
      body = <Text color={theme.muted}>reading the diff…</Text>;
    } else if (entry.state === 'error') {
      body = (
        <Text color={theme.bad} wrap="truncate-end">
          {entry.message}
        </Text>
      );
    } else if (entry.state === 'done') {
      body = (
        <Text color={theme.good} wrap="truncate-end">
          {entry.message}
        </Text>
      );
    } else if (entry.diff.lines.length === 0) {
      body = (
        <Text color={theme.muted}>the run changed nothing (m merges nothing; x discards the branch)</Text>
      );
    } else {
      const { lines, files } = entry.diff;
      const top = Math.max(0, Math.min(props.scroll, lines.length - rows));
      // The file scrolled to, even when the diff's end keeps its header from reaching the top.
      const at = Math.max(top, Math.min(props.scroll, lines.length - 1));
      const file = [...files].reverse().find((f) => f.line <= at) ?? files[0];
      title += ` · ${files.length} file${files.length === 1 ? '' : 's'}${file ? ` · ${file.path}` : ''} · m merge · x discard`;
      body = lines.slice(top, top + rows).map((line, i) => (
        <Text key={top + i} wrap="truncate-end">
          {line === '' ? ' ' : line}
        </Text>
      ));
    }
  }
  return (
    <PaneFrame height={props.height} focused={props.focused} title="review">
      <PaneTitle focused={props.focused}>{title}</PaneTitle>
      {body}
    </PaneFrame>
  );
}
