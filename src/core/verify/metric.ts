/**
 * The metric grader, autoresearch style: a command prints a number, a pattern reads it, and each
 * iteration is an experiment. Strictly better than the best kept value → the iteration's commit is
 * kept; otherwise (or when the command crashes or prints no number) the worktree is reset to the last
 * kept commit. Every attempt is a row of state/<loop>/results.tsv and a `metric.recorded` event.
 *
 * The baseline is the unmodified code: measured before the first iteration, at the run's base commit,
 * and written as a `baseline` row. An attempt is kept only when it beats the best kept value, the
 * original included, so a run can never be "verified" below the code it started from. Each run
 * measures its own base afresh (a best kept on another run's unmerged branch cannot be built on).
 * When the original cannot be measured (the command fails on it), the first attempt that yields a
 * number is kept as the reference instead. Passing: with a `target`, when the best kept value
 * reaches it; without one, when an attempt improves on a kept value or on the original.
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
  /** Whether this run's base has been measured (whether or not it gave a number). */
  let measured = false;

  const measure = (ctx: GradeContext) =>
    runShell(command, {
      cwd: ctx.worktree,
      timeoutMs: cfg.timeout * 1000,
      outputCap: OUTPUT_CAP,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
      // Only a holdout grader sees the holdout graders' files; every grader runs the agent's code.
      profile: cfg.holdout ? 'holdout' : 'grader',
    });

  /**
   * Measures the run's base commit and records it. Before the first iteration the worktree is the
   * base already; a grader asked to grade first (no prepare call) goes back to the base for the
   * measurement and returns to the attempt, which the run has committed.
   */
  const measureOriginal = async (ctx: GradeContext): Promise<void> => {
    const head = await ctx.worktrees.headSha(ctx.worktree);
    const base = ctx.baseSha;
    const atBase = head === base || (await ctx.worktrees.changedFiles(ctx.worktree, base)).length === 0;
    if (!atBase) {
      // Never lose work to a measurement: only a fully committed attempt is stepped away from.
      if ((await ctx.worktrees.changedFiles(ctx.worktree, head)).length > 0) return;
      await ctx.worktrees.resetHard(ctx.worktree, base);
    }
    let result: Awaited<ReturnType<typeof measure>>;
    try {
      result = await measure(ctx);
    } finally {
      if (!atBase) await ctx.worktrees.resetHard(ctx.worktree, head);
    }
    if (result.canceled) return; // measured again at the next chance
    const value = result.exitCode === 0 ? readMetric(result.output, pattern) : undefined;
    measured = true;
    if (value !== undefined) {
      best = value;
      kept = base;
    }
    const why = value === undefined ? `: ${failureReason(result)}` : '';
    await appendResult(ctx.resultsPath, {
      commit: base,
      value: value ?? null,
      status: 'baseline',
      description: `the unmodified code${why}`,
      run: ctx.run,
      iteration: 0,
    });
    ctx.emit({
      type: 'metric.recorded',
      grader: name,
      value: value ?? null,
      status: 'baseline',
      commit: base,
      best,
    });
  };

  /** The best kept value, saying when it is still the original code's. */
  const describeBest = (ctx: GradeContext): string =>
    `${best}${kept === ctx.baseSha ? ', the unmodified code' : ''}`;

  const failureReason = (result: Awaited<ReturnType<typeof measure>>): string =>
    result.spawnError ??
    (result.timedOut
      ? `timed out after ${cfg.timeout}s`
      : result.exitCode !== 0
        ? `exit code ${result.exitCode ?? 'unknown'}`
        : `no number matched the pattern /${cfg.metric.pattern}/`);

  return {
    name,
    kind: 'metric',
    holdout: cfg.holdout,
    async prepare(ctx: GradeContext): Promise<void> {
      if (!measured) await measureOriginal(ctx);
    },
    async grade(ctx: GradeContext): Promise<GraderVerdict> {
      const started = Date.now();
      if (!measured) await measureOriginal(ctx);
      const commit = await ctx.worktrees.headSha(ctx.worktree);
      const lastKept = kept ?? ctx.baseSha;
      const result = await measure(ctx);
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
        const why = failureReason(result);
        if (result.spawnError !== undefined) verdict.error = `${where}: ${result.spawnError}`;
        said = `crash (${why})`;
      } else if (best === null || better(value, best)) {
        status = 'keep';
        said =
          best === null
            ? `${value}: kept as the reference (the unmodified code gave no number)`
            : `${value}: better than the best so far (${describeBest(ctx)}), kept`;
        best = value;
        kept = commit;
      } else {
        status = 'discard';
        said = `${value}: not better than the best kept (${describeBest(ctx)}), discarded`;
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
          `The worktree was reset to commit ${lastKept.slice(0, 7)}${lastKept === ctx.baseSha ? ' (the start of the run)' : ' (the best kept attempt)'}: this attempt's changes are gone; try another idea.`,
        );
      } else if (!verdict.passed) {
        lines.push(
          target === undefined
            ? 'Kept as the reference: improve on it.'
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
