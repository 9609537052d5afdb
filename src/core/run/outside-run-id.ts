/**
 * Calls made outside a run (a trigger's triage, say) are recorded in the spend ledger under a
 * pseudo-run named for their step: `triage-20261202-071502-a3f9`. A real run id starts with its date,
 * never a letter, so the two cannot be confused, and the spend report does not count these as runs.
 */
import type { ModelStep } from '../events.js';
import { newRunId } from '../../state/paths.js';

export const OUTSIDE_STEPS = [
  'triage',
  'analyst',
  'summary',
  'review',
] as const satisfies readonly ModelStep[];
export type OutsideStep = (typeof OUTSIDE_STEPS)[number];

const OUTSIDE_ID = new RegExp(`^(${OUTSIDE_STEPS.join('|')})-`);

/** The pseudo-run id of a call outside a run. */
export function outsideRunId(step: OutsideStep, now?: Date): string {
  return `${step}-${newRunId(now)}`;
}

/** Whether a ledger "run" is calls made outside any run, not a run of the loop. */
export function isOutsideRunId(run: string): boolean {
  return OUTSIDE_ID.test(run);
}
