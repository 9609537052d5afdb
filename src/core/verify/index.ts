/** Builds the graders a loop's `verify:` list asks for. */
import type { GraderConfig } from '../definition/schema.js';
import type { GraderVerdict } from '../events.js';
import { createCommandGrader } from './command.js';
import type { Grader } from './grader.js';

export class GraderUnavailableError extends Error {}

export function createGraders(configs: readonly GraderConfig[]): Grader[] {
  return configs.map((cfg, index) => {
    if ('command' in cfg) return createCommandGrader(cfg, index);
    const kind = 'rubric' in cfg ? 'rubric' : 'metric' in cfg ? 'metric' : 'checker';
    throw new GraderUnavailableError(
      `verify[${index}]: the ${kind} grader is not available in this version; use a command grader for now`,
    );
  });
}

/** The next iteration's feedback: the failing graders' findings, compactly; holdout findings never. */
export function feedbackFrom(verdicts: ReadonlyArray<{ grader: Grader; verdict: GraderVerdict }>): string {
  return verdicts
    .filter(({ grader, verdict }) => !verdict.passed && !grader.holdout)
    .map(
      ({ verdict }) =>
        `## ${verdict.name} failed\n${verdict.error ? `error: ${verdict.error}\n` : ''}${verdict.feedback}`,
    )
    .join('\n\n');
}
