/** Builds the graders a loop's `verify:` list asks for, and turns their verdicts into feedback. */
import type { GraderConfig, LoopDefinition } from '../definition/schema.js';
import type { GraderVerdict } from '../events.js';
import { createCheckerGrader } from './checker.js';
import { clipMiddle, fairShares } from './clip.js';
import { createCommandGrader } from './command.js';
import type { Grader } from './grader.js';
import { createMetricGrader } from './metric.js';
import { createRubricGrader } from './rubric.js';

export { GraderConfigError } from './metric.js';
export { protectedPaths } from './protect.js';

/** The whole feedback an iteration passes on; each failing grader gets a fair share of it. */
export const FEEDBACK_CHARS = 6_000;

/**
 * One grader per `verify:` entry, in order. Graders keep per-run state (a metric grader's best value,
 * a command grader's last test counts), so make them once per run. Loop-level inputs (rubric criteria,
 * the review model) come from GradeContext.definition at grading time.
 */
export function createGraders(source: LoopDefinition | readonly GraderConfig[]): Grader[] {
  const configs = 'verify' in source ? source.verify : source;
  return configs.map((cfg, index) => {
    if ('command' in cfg) return createCommandGrader(cfg, index);
    if ('metric' in cfg) return createMetricGrader(cfg, index);
    if ('rubric' in cfg) return createRubricGrader(cfg, index);
    return createCheckerGrader(cfg, index);
  });
}

/**
 * The next iteration's feedback: the failing graders' findings, within FEEDBACK_CHARS, each cut fairly
 * (a short finding is kept whole and leaves its room to the others). Holdout findings never.
 * `notes` are lines to put before a grader's findings (a regression).
 */
export function feedbackFrom(
  verdicts: ReadonlyArray<{ grader: Grader; verdict: GraderVerdict }>,
  notes: ReadonlyMap<Grader, string> = new Map(),
): string {
  const parts = verdicts
    .filter(({ grader, verdict }) => !verdict.passed && !grader.holdout)
    .map(({ grader, verdict }) => ({
      head: `## ${verdict.name} failed`,
      body: [notes.get(grader), verdict.error ? `error: ${verdict.error}` : undefined, verdict.feedback]
        .filter((line) => line !== undefined && line !== '')
        .join('\n'),
    }));
  const overhead = parts.reduce((n, p) => n + p.head.length + 1, 0) + 2 * Math.max(0, parts.length - 1);
  const shares = fairShares(
    parts.map((p) => p.body.length),
    Math.max(0, FEEDBACK_CHARS - overhead),
  );
  return parts.map((p, i) => `${p.head}\n${clipMiddle(p.body, shares[i] ?? 0)}`).join('\n\n');
}
