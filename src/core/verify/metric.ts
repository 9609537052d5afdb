/**
 * The metric grader, autoresearch style: a command prints a number, a pattern reads it, and each
 * iteration is an experiment. Strictly better than the best kept value → the iteration's commit is
 * kept; otherwise (or when the command crashes or prints no number) the worktree is reset to the last
 * kept commit. Every attempt is a row of state/<loop>/results.tsv and a `metric.recorded` event.
 *
 * The first measured attempt is the baseline and is kept. Passing: with a `target`, when the best kept
 * value reaches it; without one, when an attempt improves on a kept value (the baseline alone does not
 * pass, or every metric loop would be "verified" after its first iteration).
 */
import type { GraderVerdict } from '../events.js';
import { runShell } from '../../process/shell.js';
import { appendResult, type ResultStatus } from '../../state/results-tsv.js';
import type { MetricGraderConfig } from './configs.js';
import type { GradeContext, Grader } from './grader.js';
import { tailOf } from './command.js';

const OUTPUT_CAP = 200_000;
const CRASH_LINES = 30;
const CRASH_CHARS = 2_500;

export class GraderConfigError extends Error {}

/** The number `pattern` finds last in `output` (its first group, else the whole match); undefined when none. */
export function readMetric(output: string, pattern: RegExp): number | undefined {
  const global = new RegExp(
    pattern.source,
    pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`,
  );
  let value: number | undefined;
  for (const match of output.matchAll(global)) {
    const text = (match[1] ?? match[0]).trim();
    const number = text === '' ? Number.NaN : Number(text);
    if (Number.isFinite(number)) value = number;
  }
  return value;
}

/** The last assistant text of the iteration, on one line: what this attempt tried. */
function describeAttempt(ctx: GradeContext): string {
  for (let i = ctx.transcript.length - 1; i >= 0; i--) {
    const message = ctx.transcript[i];
    if (message?.role !== 'assistant') continue;
    const text = message.content
      .map((part) => (part.type === 'text' ? part.text : ''))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (text !== '') return text;
  }
  return `iteration ${ctx.iteration}`;
}

export function createMetricGrader(cfg: MetricGraderConfig, index: number): Grader {
  const { command, goal, target } = cfg.metric;
  const name = cfg.name ?? `metric: ${command}`;
  const where = `verify[${index}] (metric ${command})`;
  let pattern: RegExp;
  try {
    pattern = new RegExp(cfg.metric.pattern, 'm');
  } catch (error) {
    throw new GraderConfigError(
      `verify[${index}].metric.pattern is not a valid regular expression (${error instanceof Error ? error.message : String(error)}); fix it in LOOP.md`,
    );
  }
  const better = (a: number, b: number): boolean => (goal === 'maximize' ? a > b : a < b);
  const reaches = (v: number, t: number): boolean => (goal === 'maximize' ? v >= t : v <= t);
  const goalText = goal === 'maximize' ? 'higher is better' : 'lower is better';
  const targetText = target === undefined ? '' : `; target ${goal === 'maximize' ? '≥' : '≤'} ${target}`;

  // Per run: graders are made once per run.
  let best: number | null = null;
  let kept: string | undefined;

  return {
    name,
    kind: 'metric',
    holdout: cfg.holdout,
    async grade(ctx: GradeContext): Promise<GraderVerdict> {
      const started = Date.now();
      const commit = await ctx.worktrees.headSha(ctx.worktree);
      const lastKept = kept ?? ctx.baseSha;
      const result = await runShell(command, {
        cwd: ctx.worktree,
        timeoutMs: cfg.timeout * 1000,
        outputCap: OUTPUT_CAP,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
        // Only a holdout grader sees the holdout graders' files; every grader runs the agent's code.
        profile: cfg.holdout ? 'holdout' : 'grader',
      });
      const verdict: GraderVerdict = { name, kind: 'metric', passed: false, feedback: '', durationMs: 0 };
      if (result.canceled) {
        verdict.error = `${where} was canceled before it finished`;
        verdict.feedback = `$ ${command}\ncanceled`;
        verdict.durationMs = Date.now() - started;
        return verdict;
      }

      const value = result.exitCode === 0 ? readMetric(result.output, pattern) : undefined;
      const previousBest = best;
      let status: ResultStatus;
      let said: string;
      if (value === undefined) {
        status = 'crash';
        const why =
          result.spawnError ??
          (result.timedOut
            ? `timed out after ${cfg.timeout}s`
            : result.exitCode !== 0
              ? `exit code ${result.exitCode ?? 'unknown'}`
              : `no number matched the pattern /${cfg.metric.pattern}/`);
        if (result.spawnError !== undefined) verdict.error = `${where}: ${result.spawnError}`;
        said = `crash (${why})`;
      } else if (best === null || better(value, best)) {
        status = 'keep';
        best = value;
        kept = commit;
        said =
          previousBest === null
            ? `${value}: the baseline, kept`
            : `${value}: better than the best so far (${previousBest}), kept`;
      } else {
        status = 'discard';
        said = `${value}: not better than the best kept (${best}), discarded`;
      }
      if (status !== 'keep') await ctx.worktrees.resetHard(ctx.worktree, lastKept);

      await appendResult(ctx.resultsPath, {
        commit,
        value: value ?? null,
        status,
        description: describeAttempt(ctx),
        run: ctx.run,
        iteration: ctx.iteration,
      });
      ctx.emit({ type: 'metric.recorded', grader: name, value: value ?? null, status, commit, best });

      verdict.passed =
        target === undefined
          ? status === 'keep' && previousBest !== null
          : best !== null && reaches(best, target);
      const lines = [`$ ${command}`, `metric ${said} (${goalText}${targetText})`];
      if (status !== 'keep') {
        lines.push(
          `The worktree was reset to commit ${lastKept.slice(0, 7)}${kept ? ' (the best kept attempt)' : ' (the start of the run)'}: this attempt's changes are gone; try another idea.`,
        );
      } else if (!verdict.passed) {
        lines.push(
          target === undefined
            ? 'Kept as the baseline: improve on it.'
            : `The target is not reached yet (best ${best}).`,
        );
      }
      if (status === 'crash') lines.push(tailOf(result.output, CRASH_LINES, CRASH_CHARS));
      verdict.feedback = lines.join('\n').trimEnd();
      verdict.durationMs = Date.now() - started;
      return verdict;
    },
  };
}
