/** Graders check a run's work; authors never grade their own work. */
import type { GraderVerdict } from '../events.js';
import type { Message } from '../../models/provider.js';
import type { Worktrees } from '../../workspace/worktrees.js';
import type { CallOptions, CallResult } from '../run/model-caller.js';

export interface GradeContext {
  worktree: string;
  /** The commit the run started from, for diffs. */
  baseSha: string;
  /** Aborted when a person stops the run. */
  signal?: AbortSignal;
  loop: string;
  run: string;
  iteration: number;
  /** The loop's task prompt. */
  task: string;
  /**
   * The author's conversation this iteration. A judge may show a bounded excerpt of it, marked as
   * untrusted; a checker agent never sees it.
   */
  transcript: readonly Message[];
  /** Model calls through the run's caps, ledger and trace (a judge uses step 'review'). */
  callModel: (opts: CallOptions) => Promise<CallResult>;
  worktrees: Worktrees;
}

export interface Grader {
  readonly name: string;
  readonly kind: string;
  /** A holdout grader's feedback never reaches the agent. */
  readonly holdout: boolean;
  grade(ctx: GradeContext): Promise<GraderVerdict>;
}
