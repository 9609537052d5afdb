/**
 * Whether a loop needs a person, and why: the one rule behind the loops pane's mark and the bell.
 * Ordered by urgency: a call waiting for approval blocks the run, a stall that paused it too.
 */
import type { LoopView } from './state.js';

export type NeedKind = 'approval' | 'stall-paused' | 'stalled' | 'budget' | 'failed';

export interface Need {
  kind: NeedKind;
  /** One short line for the loops pane and the notification. */
  reason: string;
}

export function needsYou(view: LoopView): Need | undefined {
  const approval = view.approvals[0];
  if (approval !== undefined) {
    const more = view.approvals.length > 1 ? ` (+${view.approvals.length - 1} more)` : '';
    return { kind: 'approval', reason: `waiting for approval: ${approval.tool} (${approval.rule})${more}` };
  }
  if (view.stall !== undefined && view.stall.action === 'pause' && view.status === 'paused') {
    return { kind: 'stall-paused', reason: `paused by a stall: ${view.stall.reason}` };
  }
  if (view.status === 'stalled')
    return { kind: 'stalled', reason: `stalled: ${view.lastReason ?? ''}`.trim() };
  if (view.stall !== undefined && view.status === 'running' && view.stall.action !== 'nudge') {
    return { kind: 'stalled', reason: `stalled: ${view.stall.reason}` };
  }
  if (view.status === 'budget') {
    return { kind: 'budget', reason: `out of budget${view.budgetCap ? ` (${view.budgetCap})` : ''}` };
  }
  if (view.status === 'failed') return { kind: 'failed', reason: `failed: ${view.lastReason ?? ''}`.trim() };
  return undefined;
}
