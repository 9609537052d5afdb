/**
 * The command grader: a shell command in the worktree, exit code 0 passes. Its output's tail is
 * the feedback (where test runners put failures and summaries) and its test counts a progress signal.
 */
import { stripVTControlCharacters } from 'node:util';
import type { CommandGraderConfig } from '../definition/schema.js';
import type { GraderVerdict } from '../events.js';
import { runShell } from '../../tools/shell.js';
import type { GradeContext, Grader } from './grader.js';
import { parseTestCounts } from './test-counts.js';

/** Output kept from the command; the summary lines are at the end, and the tail is kept. */
const OUTPUT_CAP = 200_000;
const FEEDBACK_LINES = 60;
const FEEDBACK_CHARS = 4_000;
const PASS_LINES = 5;

/** The last `lines` lines, no more than `chars` characters, marked when cut. */
export function tailOf(output: string, lines: number, chars: number): string {
  const all = stripVTControlCharacters(output).replace(/\r\n?/g, '\n').trimEnd().split('\n');
  let text = all.slice(-lines).join('\n');
  if (text.length > chars) text = text.slice(text.length - chars);
  const cut = all.join('\n').length - text.length;
  return cut > 0 ? `[… ${cut} chars before this]\n${text}` : text;
}

export function createCommandGrader(cfg: CommandGraderConfig, index: number): Grader {
  const name = cfg.name ?? `command: ${cfg.command}`;
  const where = `verify[${index}] (${cfg.command})`;
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
      });
      const verdict: GraderVerdict = {
        name,
        kind: 'command',
        passed: result.exitCode === 0,
        feedback: '',
        durationMs: Date.now() - started,
      };
      const tests = parseTestCounts(result.output);
      if (tests) verdict.tests = tests;

      const head = `$ ${cfg.command}`;
      if (result.spawnError !== undefined) {
        verdict.error = `${where}: ${result.spawnError}`;
        verdict.feedback = `${head}\n${result.spawnError}`;
      } else if (result.timedOut) {
        verdict.error = `${where} timed out after ${cfg.timeout}s and was killed; raise its timeout in LOOP.md or make it faster`;
        verdict.feedback = `${head}\ntimed out after ${cfg.timeout}s\n${tailOf(result.output, FEEDBACK_LINES, FEEDBACK_CHARS)}`;
      } else if (result.canceled) {
        verdict.error = `${where} was canceled before it finished`;
        verdict.feedback = `${head}\ncanceled`;
      } else if (verdict.passed) {
        verdict.feedback =
          `${head}\nexit code 0 (passed)\n${tailOf(result.output, PASS_LINES, FEEDBACK_CHARS)}`.trimEnd();
      } else {
        verdict.feedback = `${head}\nexit code ${result.exitCode ?? 'unknown'}\n${tailOf(result.output, FEEDBACK_LINES, FEEDBACK_CHARS)}`;
      }
      return verdict;
    },
  };
}
