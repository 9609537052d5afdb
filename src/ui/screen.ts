/**
 * The screen's own state (what is focused, which overlays are open, the notice, scroll positions),
 * apart from the store's engine state. Overlays form a stack: the top one takes every key until
 * it completes (an approval answered, a question answered, a prompt sent or cancelled).
 */
import type { PaneId } from './keymap.js';
import type { RunRef } from './review-port.js';
import type { PendingApproval } from './state.js';

export type PromptPurpose =
  | { type: 'instruct'; loop: string; now: boolean }
  | { type: 'deny'; approval: PendingApproval }
  | { type: 'reject'; proposal: string; file: string };

export type Overlay =
  | { kind: 'help' }
  /** Bound to one approval: keys answer this id, even after it was answered elsewhere. */
  | { kind: 'approval'; approval: PendingApproval }
  | { kind: 'confirm'; question: string; action: { type: 'discard'; ref: RunRef } }
  | { kind: 'prompt'; purpose: PromptPurpose; text: string };

export interface ScreenState {
  focus: PaneId;
  overlays: readonly Overlay[];
  notice?: string;
  /** The engine's notices up to this seq were seen (a key was pressed since): not shown again. */
  noticeSeen: number;
  /** An editor has the terminal: the screen takes no keys until it is closed. */
  editing: boolean;
  /** q was pressed: stop what runs, then exit. */
  quitting: boolean;
  /** q was pressed twice: exit without waiting. */
  leaveNow: boolean;
  /** Lines scrolled per pane (trace: up from the newest; review: down from the top). */
  scroll: Readonly<Partial<Record<PaneId, number>>>;
  /** Approvals this screen answered or the person put off: not opened again by themselves. */
  settledApprovals: readonly string[];
}

export const INITIAL_SCREEN: ScreenState = {
  focus: 'loops',
  overlays: [],
  noticeSeen: 0,
  editing: false,
  quitting: false,
  leaveNow: false,
  scroll: {},
  settledApprovals: [],
};

export function topOverlay(screen: ScreenState): Overlay | undefined {
  return screen.overlays[screen.overlays.length - 1];
}

export function pushOverlay(screen: ScreenState, overlay: Overlay): Partial<ScreenState> {
  return { overlays: [...screen.overlays, overlay] };
}

export function popOverlay(screen: ScreenState): Partial<ScreenState> {
  return { overlays: screen.overlays.slice(0, -1) };
}
