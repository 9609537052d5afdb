/** What a pane is to the screen: an entry in the registry, not a branch of App.tsx. */
import type { JSX } from 'react';
import { BINDINGS, type BindingId, type PaneId } from '../keymap.js';
import type { Slice, UiState } from '../state.js';

export interface PaneProps {
  /** Rows the pane may draw, borders included. */
  height: number;
  focused: boolean;
  /** Lines scrolled (panes that scroll read it; the screen keeps it per pane). */
  scroll: number;
}

export interface PaneSpec<S = unknown> {
  id: PaneId;
  title: string;
  /** The pane's own bindings (scope = its id), taken from the one keymap table. */
  bindings: readonly BindingId[];
  slice?: Slice<S>;
  /** The fewest rows it is drawn in; with less room it shrinks to its one-line title. */
  minHeight: number;
  /** Its share of the rows left over once every pane has its minimum. */
  grow: number;
  /** The share of the body it asks for first, up to its max (the loops pane: 0.4). */
  preferShare?: number;
  /** The most rows it can use given the state (the loops pane: one per loop); default unbounded. */
  maxHeight?: (state: UiState) => number;
  component: (props: PaneProps) => JSX.Element;
}

export function paneBindings(id: PaneId): BindingId[] {
  return BINDINGS.filter((binding) => binding.scope === id).map((binding) => binding.id);
}

export function definePane<S>(spec: Omit<PaneSpec<S>, 'bindings'>): PaneSpec<S> {
  return { ...spec, bindings: paneBindings(spec.id) };
}
