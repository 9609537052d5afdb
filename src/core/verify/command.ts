/**
 * The command grader: a shell command in the worktree, exit code 0 passes. When it fails, the failing
 * part of its output (the failed tests' blocks and messages) and the last lines (the summary) are the
 * feedback. Test counts are a progress signal: the score is the share of tests passing, and the
 * feedback says how the counts moved since the last iteration.
 */
import { stripVTControlCharacters } from 'node:util';
import type { CommandGraderConfig } from '../definition/schema.js';
import type { GraderVerdict } from '../events.js';
import { runShell } from '../../process/shell.js';
import type { GradeContext, Grader } from './grader.js';
import { clipHead } from './clip.js';
import { failureExcerpt } from './failure-excerpt.js';
import { parseTestCounts, type TestCounts } from './test-counts.js';

/** Output kept from the command; the summary lines are at the end, and the tail is kept. */
const OUTPUT_CAP = 200_000;
const FEEDBACK_LINES = 60;
const FEEDBACK_CHARS = 4_000;
const PASS_LINES = 5;
/** With an excerpt of the failures, the tail only needs the runner's summary. */
const EXCERPT_CHARS = 3_000;
const SUMMARY_LINES = 8;
const SUMMARY_CHARS = 800;

/** The last `lines` lines, no more than `chars` characters, marked when cut. */
export function tailOf(output: string, lines: number, chars: number): string {
  const all = stripVTControlCharacters(output).replace(/\r\n?/g, '\n').trimEnd().split('\n');
  let text = all.slice(-lines).join('\n');
  if (text.length > chars) text = text.slice(text.length - chars);
  const cut = all.join('\n').length - text.length;
  return cut > 0 ? `[… ${cut} chars before this]\n${text}` : text;
}

function describeCounts(now: TestCounts, before: TestCounts | undefined): string {
  const counts = (c: TestCounts): string => `${c.passed} passed, ${c.failed} failed`;
  if (!before) return `tests: ${counts(now)}`;
  const moved =
    now.failed < before.failed || (now.failed === before.failed && now.passed > before.passed)
      ? 'progress'
      : now.failed > before.failed || now.passed < before.passed
        ? 'worse'
        : 'no change';
  return `tests: ${counts(now)} (last iteration: ${counts(before)}; ${moved})`;
}

/** The failures first (what to fix), then the last lines (the runner's summary). */
function failureFeedback(output: string): string {
  const excerpt = failureExcerpt(output);
  if (excerpt === undefined) return tailOf(output, FEEDBACK_LINES, FEEDBACK_CHARS);
  return `Failures:\n${clipHead(excerpt, EXCERPT_CHARS)}\n\nLast lines of the output:\n${tailOf(output, SUMMARY_LINES, SUMMARY_CHARS)}`;
}

export function createCommandGrader(cfg: CommandGraderConfig, index: number): Grader {
  const name = cfg.name ?? `command: ${cfg.command}`;
  const where = `verify[${index}] (${cfg.command})`;
  // Graders live for one run, so the counts of the last iteration are this run's.
  let lastCounts: TestCounts | undefined;
  return {
    name,
    kind: 'command',
    holdout: cfg.holdout,
    async grade(ctx: GradeContext): Promise<GraderVerdict> {
      const started = Date.now();
      const result = await runShell(cfg.command, {
        cwd: ctx.worktree,
        timeoutMs: cfg.timeout * 1000,
        outputCap: OUTPUT_CAP,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
        // Only a holdout grader sees the holdout graders' files; every grader runs the agent's code.
        profile: cfg.holdout ? 'holdout' : 'grader',
      });
      const verdict: GraderVerdict = {
        name,
        kind: 'command',
        passed: result.exitCode === 0,
        feedback: '',
        durationMs: Date.now() - started,
      };
      const tests = parseTestCounts(result.output);
      let counts = '';
      if (tests) {
        verdict.tests = tests;
        const total = tests.passed + tests.failed;
        if (total > 0) verdict.score = tests.passed / total;
        counts = `\n${describeCounts(tests, lastCounts)}`;
        lastCounts = tests;
      }

      const head = `$ ${cfg.command}`;
      if (result.spawnError !== undefined) {
        verdict.error = `${where}: ${result.spawnError}`;
        verdict.feedback = `${head}\n${result.spawnError}`;
      } else if (result.timedOut) {
        verdict.error = `${where} timed out after ${cfg.timeout}s and was killed; raise its timeout in LOOP.md or make it faster`;
        verdict.feedback = `${head}\ntimed out after ${cfg.timeout}s${counts}\n${tailOf(result.output, FEEDBACK_LINES, FEEDBACK_CHARS)}`;
      } else if (result.canceled) {
        verdict.error = `${where} was canceled before it finished`;
        verdict.feedback = `${head}\ncanceled`;
      } else if (verdict.passed) {
        verdict.feedback =
          `${head}\nexit code 0 (passed)${counts}\n${tailOf(result.output, PASS_LINES, FEEDBACK_CHARS)}`.trimEnd();
      } else {
        verdict.feedback = `${head}\nexit code ${result.exitCode ?? 'unknown'}${counts}\n${failureFeedback(result.output)}`;
      }
      return verdict;
    },
  };
}
