/**
 * Runs a loop's graders after an iteration, in order, and turns their verdicts into feedback. With
 * tracking, a grader that passed earlier in the run and fails now is reported as a regression (with
 * the diff since it passed), and each failing grader is recorded as an error with a signature.
 */
import type { GraderVerdict } from '../events.js';
import type { Emitter } from '../run/emitter.js';
import type { RunControl } from '../run/control.js';
import type { ErrorTracker } from './error-tracker.js';
import { boundedDiff } from './evidence.js';
import type { GradeContext, Grader } from './grader.js';
import { feedbackFrom } from './index.js';
import { restoreProtected } from './protect.js';
import type { RegressionTracker } from './regressions.js';

/** A regression's diff is for a person reading the trace: bounded, but generous. */
const REGRESSION_DIFF_CHARS = 12_000;

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

/** Per-run state the grading of each iteration adds to. */
export interface GradeTracking {
  regressions: RegressionTracker;
  errors: ErrorTracker;
}

/** A grader that throws (a git failure while resetting, a full disk) fails as an error, never a pass. */
async function safeGrade(grader: Grader, ctx: GradeContext): Promise<GraderVerdict> {
  const started = Date.now();
  try {
    return await grader.grade(ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      name: grader.name,
      kind: grader.kind,
      passed: false,
      feedback: `the grader could not finish: ${message}`,
      error: `${grader.name}: ${message}`,
      durationMs: Date.now() - started,
    };
  }
}

export async function gradeIteration(
  graders: readonly Grader[],
  ctx: GradeContext,
  emitter: Emitter,
  control: RunControl,
  tracking?: GradeTracking,
): Promise<IterationVerdict> {
  const verdicts: Array<{ grader: Grader; verdict: GraderVerdict }> = [];
  const notes = new Map<Grader, string>();
  for (const [i, grader] of graders.entries()) {
    if (control.stopRequested) break;
    // The run restored protected files before grading; a grader that ran worktree code may have
    // changed them since, so each later grader checks against the base again.
    if (i > 0 && ctx.protectedPaths !== undefined && ctx.protectedPaths.length > 0) {
      const restored = await restoreProtected(ctx.worktrees, ctx.worktree, ctx.baseSha, ctx.protectedPaths);
      if (restored.length > 0 && tracking) {
        const message = `protected file(s) ${restored.join(', ')} changed while grading; they were restored before ${grader.name}`;
        emitter.emit(tracking.errors.record('tool_failure', message, ctx.iteration));
      }
    }
    // Read per grader: a metric grader that discards moves HEAD for the graders after it.
    const sha = tracking ? await ctx.worktrees.headSha(ctx.worktree) : undefined;
    emitter.emit({ type: 'grader.started', grader: grader.name, kind: grader.kind });
    const verdict = await safeGrade(grader, ctx);
    emitter.emit({ type: 'grader.result', ...verdict });
    verdicts.push({ grader, verdict });
    if (!tracking || sha === undefined || control.stopRequested) continue;

    if (!verdict.passed) emitter.emit(tracking.errors.recordGrader(verdict, grader.holdout, ctx.iteration));
    const since = tracking.regressions.note(grader, verdict, ctx.iteration, sha);
    if (since) {
      const diff = await boundedDiff(ctx, since.sha, REGRESSION_DIFF_CHARS);
      emitter.emit({ type: 'grader.regression', grader: grader.name, passedAt: since.iteration, diff });
      notes.set(
        grader,
        `Regression: this grader passed on iteration ${since.iteration}; a change since then broke it.`,
      );
    }
  }
  const stopped = verdicts.length < graders.length;
  const passed = verdicts.filter((v) => v.verdict.passed).map((v) => v.verdict.name);
  const failed = verdicts.filter((v) => !v.verdict.passed).map((v) => v.verdict.name);
  // No grader, no verdict: an iteration nobody checked is never verified.
  const verified = !stopped && verdicts.length > 0 && failed.length === 0;
  return {
    verified,
    stopped,
    passed,
    failed,
    feedback: verified ? '' : feedbackFrom(verdicts, notes),
    verdicts,
  };
}
