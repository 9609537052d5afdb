/**
 * The rubric judge: a model of its own (the grader's `model`, else the loop's review route, else the
 * loop's model) grades the iteration against RUBRIC.md. It is never handed the agent's conversation as
 * its own: it gets the task, the criteria, the diff and a bounded, untrusted excerpt of the transcript
 * in one fresh request, and must answer with a structured verdict: a forced `submit_verdict` call whose
 * input schema holds the rubric's criterion names. Its text is never read as the verdict.
 */
import path from 'node:path';
import { loadRubricFile } from '../definition/rubric.js';
import type { LoopDefinition, RubricCriterion } from '../definition/schema.js';
import type { GraderVerdict } from '../events.js';
import type { Message } from '../../models/provider.js';
import type { GradeContext, Grader } from './grader.js';
import { boundedDiff, newNonce, transcriptExcerpt, untrusted, untrustedNotice } from './evidence.js';
import {
  askForVerdict,
  criteriaInstruction,
  previousAnswer,
  retryInstruction,
  toGraderVerdict,
  VERDICT_FORMAT,
  VERDICT_TOOL,
  verdictAnswer,
  verdictTool,
  type Answer,
  type Retry,
} from './verdict.js';
import { callFailure } from './call-failure.js';
import type { RubricGraderConfig } from './configs.js';

function judgeSystem(nonce: string): string {
  return [
    'You are a strict, independent grader of work done by an autonomous coding agent. You did not do the ' +
      'work; judge it only by the evidence given, against every criterion of the rubric.',
    untrustedNotice(nonce),
    VERDICT_FORMAT,
  ].join('\n\n');
}

export function formatCriteria(criteria: readonly RubricCriterion[]): string {
  return criteria.map((c) => (c.text === c.name ? `- ${c.name}` : `## ${c.name}\n${c.text}`)).join('\n');
}

function judgePrompt(
  task: string,
  criteria: readonly RubricCriterion[],
  diff: string,
  transcript: string,
  nonce: string,
): string {
  return [
    `# The task given to the agent\n\n${task.trim()}`,
    `# Rubric (grade each criterion by its name)\n\n${formatCriteria(criteria)}\n\n${criteriaInstruction(criteria.map((c) => c.name))}`,
    `# The agent's changes (git diff against the start of the run)\n\n${untrusted(diff, nonce)}`,
    `# Excerpt of the agent's conversation (its last messages)\n\n${untrusted(transcript || '(empty)', nonce)}`,
    'Grade the work against the rubric now.',
  ].join('\n\n');
}

/** The criteria of the rubric file this grader names (the definition carries the first one loaded). */
async function loadCriteria(cfg: RubricGraderConfig, def: LoopDefinition): Promise<RubricCriterion[]> {
  const file = path.posix.normalize(`loops/${def.name}/${cfg.rubric}`);
  if (def.rubric?.path === file) return def.rubric.criteria;
  const loaded = await loadRubricFile(path.resolve(def.dir, cfg.rubric), file);
  if (loaded.kind === 'loaded') return loaded.criteria;
  if (loaded.kind === 'missing') throw new Error(`no rubric at ${file}: create it or fix the grader's path`);
  throw new Error(`${file}:${loaded.problem.line}: ${loaded.problem.message}`);
}

export function createRubricGrader(cfg: RubricGraderConfig, index: number): Grader {
  const name = cfg.name ?? `rubric: ${cfg.rubric}`;
  const where = `verify[${index}] (rubric ${cfg.rubric})`;
  let criteria: RubricCriterion[] | undefined;
  return {
    name,
    kind: 'rubric',
    holdout: cfg.holdout,
    async grade(ctx: GradeContext): Promise<GraderVerdict> {
      const started = Date.now();
      const base = { name, kind: 'rubric', started, where };
      const def = ctx.definition;
      try {
        criteria ??= await loadCriteria(cfg, def);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return toGraderVerdict(base, { kind: 'error', message }, cfg.threshold);
      }
      const rubric = criteria;
      const model = cfg.model ?? def.agent.route.review ?? def.model;
      const nonce = newNonce();
      const system = judgeSystem(nonce);
      const prompt = judgePrompt(
        ctx.task,
        rubric,
        await boundedDiff(ctx),
        transcriptExcerpt(ctx.transcript),
        nonce,
      );
      const names = rubric.map((c) => c.name);
      const tool = verdictTool(names);
      const ask = async (retry?: Retry): Promise<Answer> => {
        const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: prompt }] }];
        if (retry) messages.push(...retryTurns(retry));
        // A review call is never interrupted by a person's `!` (only a stop ends it).
        const result = await ctx.callModel({
          step: 'review',
          model,
          system,
          messages,
          tools: [tool],
          toolChoice: { type: 'tool', name: VERDICT_TOOL },
        });
        if (result.kind === 'ok') return verdictAnswer(result.response);
        return { kind: 'error', message: callFailure(result) };
      };
      const asked = await askForVerdict(ask, names);
      return toGraderVerdict(base, asked, cfg.threshold);
    },
  };
}

/**
 * The last answer and what was wrong with it: a verdict call is answered with a failed tool result
 * (the API wants every call answered), a reply without one with a user message.
 */
function retryTurns({ previous, problem }: Retry): Message[] {
  const instruction = retryInstruction(problem);
  if (previous.kind === 'call') {
    return [
      {
        role: 'assistant',
        content: [
          ...(previous.text.trim() ? [{ type: 'text' as const, text: previous.text }] : []),
          { type: 'tool_use', id: previous.id, name: VERDICT_TOOL, input: previous.input },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', toolUseId: previous.id, content: instruction, isError: true }],
      },
    ];
  }
  return [
    { role: 'assistant', content: [{ type: 'text', text: previousAnswer(previous) }] },
    { role: 'user', content: [{ type: 'text', text: instruction }] },
  ];
}
