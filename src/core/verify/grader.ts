/** Graders check a run's work; authors never grade their own work. */
import type { GraderVerdict } from '../events.js';

export interface GradeContext {
  worktree: string;
  /** The commit the run started from, for diffs. */
  baseSha: string;
  signal?: AbortSignal;
}

export interface Grader {
  readonly name: string;
  readonly kind: string;
  /** A holdout grader's feedback never reaches the agent. */
  readonly holdout: boolean;
  grade(ctx: GradeContext): Promise<GraderVerdict>;
}
