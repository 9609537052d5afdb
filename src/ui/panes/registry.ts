/**
 * The panes of the supervisor screen, in the order they are drawn. A new pane is one more file and
 * one more entry here: App renders this list, the layout shares the rows among it, `tab` cycles it.
 */
import type { SliceEntry } from '../state.js';
import { loopsPane } from './loops.js';
import { proposalsPane } from './proposals.js';
import { reviewPane } from './review.js';
import { spendPane } from './spend.js';
import { stallsPane } from './stalls.js';
import { tracePane } from './trace.js';
import type { PaneSpec } from './types.js';

export const PANES: readonly PaneSpec[] = [
  loopsPane,
  tracePane,
  spendPane,
  stallsPane,
  reviewPane,
  proposalsPane,
];

/** The slices the store reduces: one per pane that has one, keyed by the pane's id. */
export function paneSlices(panes: readonly PaneSpec[] = PANES): SliceEntry[] {
  return panes.flatMap((pane) => (pane.slice === undefined ? [] : [{ id: pane.id, slice: pane.slice }]));
}
