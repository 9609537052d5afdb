/**
 * The checker: a separate agent that inspects the worktree with read-only tools and judges the work
 * against the task. It starts from its own fresh conversation (never the author's), so the author's
 * reasoning cannot talk it into a pass, and it has no tool that writes. It ends with a
 * `submit_verdict` call (forced, when it stops without one), whose input is the verdict: its text is
 * never read as one.
 */
import type { ToolName } from '../definition/schema.js';
import type { GraderVerdict } from '../events.js';
import type { CheckerGraderConfig } from './configs.js';
import type { GradeContext, Grader } from './grader.js';
import { boundedDiff, newNonce, untrusted, untrustedNotice } from './evidence.js';
import { formatCriteria } from './rubric.js';
import {
  askForVerdict,
  criteriaInstruction,
  previousAnswer,
  retryInstruction,
  toGraderVerdict,
  VERDICT_FORMAT,
  VERDICT_TOOL,
  verdictTool,
  type Answer,
  type Retry,
} from './verdict.js';

export const READ_ONLY_TOOLS: readonly ToolName[] = ['read_file', 'list_files', 'search'];

/** A checker passes on `satisfied`; its score is recorded, not thresholded. */
const CHECKER_THRESHOLD = 0;

function checkerSystem(nonce: string): string {
  return [
    'You are a checker: an independent reviewer of work another agent did in this git worktree. You did ' +
      'not do the work. Inspect the files with your tools (read_file, list_files, search; you cannot change ' +
      'anything) and decide whether the task is really done: look for missing pieces, wrong behaviour, ' +
      'edited tests or checks, and claims the code does not back up.',
    untrustedNotice(nonce),
    `When you have seen enough, end with the ${VERDICT_TOOL} call. ${VERDICT_FORMAT}\n` +
      'When a rubric is given, its criteria are your criteria, by their names and no others; otherwise ' +
      'make your own criteria from the task.',
  ].join('\n\n');
}

export function createCheckerGrader(cfg: CheckerGraderConfig, index: number): Grader {
  const options = cfg.checker === true ? {} : cfg.checker;
  const name = cfg.name ?? 'checker';
  const where = `verify[${index}] (checker)`;
  return {
    name,
    kind: 'checker',
    holdout: cfg.holdout,
    async grade(ctx: GradeContext): Promise<GraderVerdict> {
      const started = Date.now();
      const def = ctx.definition;
      const model = options.model ?? def.agent.route.review ?? def.model;
      const nonce = newNonce();
      const sections = [`# The task the agent was given\n\n${ctx.task.trim()}`];
      if (options.prompt) sections.push(`# What to check\n\n${options.prompt.trim()}`);
      const expected = def.rubric?.criteria.map((c) => c.name) ?? [];
      if (def.rubric) {
        sections.push(
          `# Rubric\n\n${formatCriteria(def.rubric.criteria)}\n\n${criteriaInstruction(expected)}`,
        );
      }
      sections.push(
        `# The agent's changes (git diff against the start of the run)\n\n${untrusted(await boundedDiff(ctx), nonce)}`,
        'Inspect the worktree now, then give your verdict.',
      );
      const user = sections.join('\n\n');
      const system = checkerSystem(nonce);
      const finish = {
        tool: verdictTool(expected),
        prompt: `Give your verdict now: call ${VERDICT_TOOL}.`,
      };
      const ask = async (retry?: Retry): Promise<Answer> => {
        const prompt = retry
          ? `${user}\n\nYour last answer was:\n${untrusted(previousAnswer(retry.previous), nonce)}\n\n${retryInstruction(retry.problem)}`
          : user;
        const result = await ctx.runSubAgent({
          system,
          user: prompt,
          tools: READ_ONLY_TOOLS,
          model,
          finish,
        });
        if (result.kind !== 'done') return { kind: 'error', message: result.message };
        return result.finish
          ? { kind: 'call', id: result.finish.id, input: result.finish.input, text: result.text }
          : { kind: 'none', text: result.text };
      };
      const asked = await askForVerdict(ask, expected);
      return toGraderVerdict({ name, kind: 'checker', started, where }, asked, CHECKER_THRESHOLD);
    },
  };
}
