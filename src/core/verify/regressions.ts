/**
 * A grader that passed on an earlier iteration of the run and fails now has regressed: something the
 * agent changed since broke it. Kept per run; a grader error (it could not judge) is no regression.
 */
import type { GraderVerdict } from '../events.js';
import type { Grader } from './grader.js';

export interface LastPass {
  iteration: number;
  /** The commit the grader passed on. */
  sha: string;
}

export class RegressionTracker {
  private readonly lastPass = new Map<Grader, LastPass>();

  /** Records a verdict given on commit `sha`; returns the pass it regressed from, reported once. */
  note(grader: Grader, verdict: GraderVerdict, iteration: number, sha: string): LastPass | undefined {
    if (verdict.passed) {
      this.lastPass.set(grader, { iteration, sha });
      return undefined;
    }
    if (verdict.error !== undefined) return undefined;
    const before = this.lastPass.get(grader);
    this.lastPass.delete(grader);
    return before;
  }
}
