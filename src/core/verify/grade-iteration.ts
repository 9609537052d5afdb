/** Runs a loop's graders after an iteration, in order, and turns their verdicts into feedback. */
import type { GraderVerdict } from '../events.js';
import type { Emitter } from '../run/emitter.js';
import type { RunControl } from '../run/control.js';
import type { GradeContext, Grader } from './grader.js';
import { feedbackFrom } from './index.js';

export interface IterationVerdict {
  /** Every grader passed (and none was cut short by a stop). */
  verified: boolean;
  stopped: boolean;
  passed: string[];
  failed: string[];
  /** What the next iteration is told; never holds a holdout grader's findings. */
  feedback: string;
  verdicts: Array<{ grader: Grader; verdict: GraderVerdict }>;
}

export async function gradeIteration(
  graders: readonly Grader[],
  ctx: GradeContext,
  emitter: Emitter,
  control: RunControl,
): Promise<IterationVerdict> {
  const verdicts: Array<{ grader: Grader; verdict: GraderVerdict }> = [];
  for (const grader of graders) {
    if (control.stopRequested) break;
    emitter.emit({ type: 'grader.started', grader: grader.name, kind: grader.kind });
    const verdict = await grader.grade(ctx);
    emitter.emit({ type: 'grader.result', ...verdict });
    verdicts.push({ grader, verdict });
  }
  const stopped = verdicts.length < graders.length;
  const passed = verdicts.filter((v) => v.verdict.passed).map((v) => v.verdict.name);
  const failed = verdicts.filter((v) => !v.verdict.passed).map((v) => v.verdict.name);
  const verified = !stopped && failed.length === 0;
  return { verified, stopped, passed, failed, feedback: verified ? '' : feedbackFrom(verdicts), verdicts };
}
