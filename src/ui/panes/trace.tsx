/** The trace pane: the selected loop's trace, a windowed tail `scroll` lines up from the newest. */
import { Text } from 'ink';
import type { JSX } from 'react';
import { theme, traceColor } from '../theme.js';
import { useUiSelector } from '../use-store.js';
import { PaneFrame, PaneTitle } from './frame.js';
import { definePane, type PaneProps } from './types.js';

export const tracePane = definePane({
  id: 'trace',
  title: 'trace',
  minHeight: 5,
  grow: 3,
  component: TracePane,
});

/** Lines a pane of this height shows: less its borders and its title line. */
export function traceRows(height: number): number {
  return Math.max(0, height - 3);
}

function TracePane(props: PaneProps): JSX.Element {
  const view = useUiSelector((state) => state.loops[state.selected]);
  const lines = traceRows(props.height);
  const trace = view?.trace ?? [];
  const scroll = Math.max(0, Math.min(props.scroll, trace.length - lines));
  const end = trace.length - scroll;
  const shown = trace.slice(Math.max(0, end - lines), end);
  const title = view === undefined ? 'trace' : titleFor(view.info.name, view.run, view.branch);
  return (
    <PaneFrame height={props.height} focused={props.focused} title={title}>
      <PaneTitle focused={props.focused}>
        {title}
        {scroll > 0 ? `  (↓ ${scroll} newer)` : ''}
      </PaneTitle>
      {shown.length === 0 ? (
        view?.info.problem !== undefined ? (
          <Text color={theme.bad} wrap="wrap">
            cannot start: {view.info.problem} (fix LOOP.md, then run loops validate)
          </Text>
        ) : (
          <Text color={theme.muted} wrap="truncate-end">
            nothing yet: press enter to start the loop
          </Text>
        )
      ) : (
        // Keyed by seq and position in the event, so a line keeps its key as the window slides.
        shown.map((line, i) => (
          <Text
            key={`${line.run}.${line.seq}.${i - shown.findIndex((l) => l.seq === line.seq && l.run === line.run)}`}
            wrap="truncate-end"
            color={traceColor(line)}
          >
            {line.kind === 'model' ? `  ${line.text}` : line.text}
          </Text>
        ))
      )}
    </PaneFrame>
  );
}

function titleFor(name: string, run: string | undefined, branch: string | undefined): string {
  const parts = [`trace · ${name}`];
  if (run !== undefined) parts.push(`run ${run}`);
  if (branch !== undefined) parts.push(branch);
  return parts.join(' · ');
}
