/**
 * The structured verdict a rubric judge or a checker agent gives: the input of its `submit_verdict`
 * tool call, which the provider's structured output delivers (a forced tool call, a forced function
 * call, Claude Code's --json-schema). Nothing is read out of the reply's text: a judge quotes the
 * agent's work, and the agent can plant a verdict-shaped object, a fenced block or "result: satisfied"
 * in that work, so text can never become the verdict. The input is validated with zod and asked for
 * once more (saying what was wrong) when it is malformed; a verdict that is still malformed is a
 * grader error, never a pass.
 */
import { z } from 'zod';
import type { GraderVerdict, ToolCallRecord } from '../events.js';
import type { JsonSchema, ModelResponse, ToolSpec } from '../../models/provider.js';
import { invalidToolInput } from '../../models/tool-input.js';

export const VERDICT_RESULTS = ['satisfied', 'needs_revision', 'failed'] as const;

const criterionSchema = z.object({
  name: z.string().min(1, 'name each criterion'),
  passed: z.boolean(),
  gap: z.string().nullish(),
});

export const judgeVerdictSchema = z
  .object({
    result: z.enum(VERDICT_RESULTS),
    score: z.number().min(0).max(1),
    explanation: z.string().min(1, 'explain the verdict in one or two sentences'),
    criteria: z.array(criterionSchema),
  })
  .superRefine((verdict, ctx) => {
    const failing = verdict.criteria.filter((c) => !c.passed);
    if (verdict.result === 'satisfied' && failing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['result'],
        message: `"satisfied" contradicts the failing criteria (${failing.map((c) => c.name).join(', ')})`,
      });
    }
    verdict.criteria.forEach((c, i) => {
      if (!c.passed && (c.gap ?? '').trim() === '') {
        ctx.addIssue({
          code: 'custom',
          path: ['criteria', i, 'gap'],
          message: `criterion "${c.name}" failed: say what is missing in "gap"`,
        });
      }
    });
  });

export type JudgeVerdict = z.output<typeof judgeVerdictSchema>;

/** The tool a judge or a checker gives its verdict through. */
export const VERDICT_TOOL = 'submit_verdict';

/** What the model is told about answering; shared by the judge and the checker. */
export const VERDICT_FORMAT = `Give your verdict by calling the ${VERDICT_TOOL} tool, once: its input is your verdict, and
nothing you write as text is read as one. "satisfied" means every criterion passes. "needs_revision" means
the work can be fixed; the gaps say how. "failed" means the work cannot meet the task as it stands. Grade
every criterion; a failing one says in "gap" what is missing or wrong.`;

/**
 * The verdict tool, its input schema built from the rubric's criterion names when there are any (so
 * the API itself keeps the judge to those names), else open names (a checker without a rubric).
 */
export function verdictTool(expected: readonly string[]): ToolSpec {
  const names = [...new Set(expected)];
  const name: JsonSchema =
    names.length > 0 ? { type: 'string', enum: names } : { type: 'string', minLength: 1 };
  const criteria: JsonSchema = {
    type: 'array',
    description: 'One entry per criterion, each graded once.',
    items: {
      type: 'object',
      properties: {
        name,
        passed: { type: 'boolean' },
        gap: { type: 'string', description: 'For a failing criterion: what is missing or wrong.' },
      },
      required: ['name', 'passed'],
      additionalProperties: false,
    },
    ...(names.length > 0 ? { minItems: names.length, maxItems: names.length } : {}),
  };
  return {
    name: VERDICT_TOOL,
    description:
      'Submit your verdict on the work. Call it once, when you have judged every criterion; the call ends the review.',
    inputSchema: {
      type: 'object',
      properties: {
        result: { type: 'string', enum: [...VERDICT_RESULTS] },
        score: { type: 'number', minimum: 0, maximum: 1, description: 'From 0 (nothing done) to 1.' },
        explanation: {
          type: 'string',
          description: 'One or two sentences: the verdict and its main reason.',
        },
        criteria,
      },
      required: ['result', 'score', 'explanation', 'criteria'],
      additionalProperties: false,
    },
  };
}

/** Marks a grader error as a malformed model answer (the error tracker classifies it so). */
export const MALFORMED_PREFIX = 'malformed verdict';

export function isMalformedVerdictError(message: string): boolean {
  return message.includes(MALFORMED_PREFIX);
}

/** Criterion names compare without case or whitespace: "Tests  untouched" is "tests untouched". */
export function criterionKey(name: string): string {
  return name.replace(/\s+/g, '').toLowerCase();
}

/** What is wrong with the criteria a verdict grades, against the rubric's names; undefined when nothing. */
function criteriaProblem(
  graded: readonly { name: string }[],
  expected: readonly string[],
): string | undefined {
  if (expected.length === 0) return undefined;
  const wanted = new Set(expected.map(criterionKey));
  const given = new Set(graded.map((c) => criterionKey(c.name)));
  const missing = expected.filter((name) => !given.has(criterionKey(name)));
  const unknown = graded.map((c) => c.name).filter((name) => !wanted.has(criterionKey(name)));
  const problems: string[] = [];
  const quoted = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(', ');
  if (missing.length > 0) problems.push(`criteria does not grade ${quoted([...new Set(missing)])}`);
  if (unknown.length > 0) problems.push(`criteria names ${quoted(unknown)}, which the rubric does not have`);
  if (problems.length === 0) return undefined;
  return `${problems.join('; ')}: grade each criterion once, by exactly these names: ${quoted(expected)}`;
}

/** Tells the model the criterion names its verdict must use; empty when there are none to expect. */
export function criteriaInstruction(expected: readonly string[]): string {
  if (expected.length === 0) return '';
  const names = expected.map((n) => JSON.stringify(n)).join(', ');
  return `Your "criteria" must grade exactly these criteria, each once, by these names: ${names}.`;
}

export type VerdictParse = { ok: true; verdict: JudgeVerdict } | { ok: false; problem: string };

/**
 * Validates the input of a verdict call. `expected` are the rubric's criterion names: when there are
 * any, the verdict must grade every one of them and no other (case and whitespace aside). A verdict
 * that skips a criterion could pass work that fails it.
 */
export function validateVerdict(input: unknown, expected: readonly string[] = []): VerdictParse {
  const invalid = invalidToolInput(input);
  if (invalid) {
    const why = invalid.__truncated__ ? 'was cut off' : 'was not valid JSON';
    return { ok: false, problem: `the ${VERDICT_TOOL} input ${why} (${invalid.__parse_error__})` };
  }
  const parsed = judgeVerdictSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return `${where}${issue.message}`;
    });
    return { ok: false, problem: problems.join('; ') };
  }
  const problem = criteriaProblem(parsed.data.criteria, expected);
  if (problem !== undefined) return { ok: false, problem };
  return { ok: true, verdict: parsed.data };
}

/** The judge's findings as the agent reads them: the explanation, then one line per failing criterion. */
export function verdictFeedback(verdict: JudgeVerdict, note?: string): string {
  const lines = [`${verdict.result} (score ${round(verdict.score)}): ${verdict.explanation.trim()}`];
  if (note) lines.push(note);
  for (const c of verdict.criteria) {
    if (!c.passed) lines.push(`- ${c.name}: ${(c.gap ?? '').trim()}`);
  }
  return lines.join('\n');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * What one ask got back: the verdict call (its id, so a retry can answer it, and its input), or no
 * call at all (the text is kept only to show the model on the retry), or a failed call.
 */
export type Answer =
  | { kind: 'call'; id: string; input: unknown; text: string }
  | { kind: 'none'; text: string; problem?: string }
  | { kind: 'error'; message: string };

/** The verdict call in a response; more than one is no verdict (which one would count?). */
export function verdictAnswer(response: Pick<ModelResponse, 'text' | 'toolCalls'>): Answer {
  const calls = response.toolCalls.filter((call) => call.name === VERDICT_TOOL);
  const [call] = calls;
  if (calls.length === 1 && call)
    return { kind: 'call', id: call.id, input: call.input, text: response.text };
  return calls.length === 0
    ? { kind: 'none', text: response.text }
    : {
        kind: 'none',
        text: response.text,
        problem: `${VERDICT_TOOL} was called ${calls.length} times; call it once`,
      };
}

/** One line for a response's verdict call (the trace pane); undefined when there is none. */
export function verdictLine(toolCalls: readonly ToolCallRecord[]): string | undefined {
  const call = toolCalls.find((c) => c.name === VERDICT_TOOL);
  if (!call) return undefined;
  const input = call.input as { result?: unknown; score?: unknown; explanation?: unknown } | null;
  const result = typeof input?.result === 'string' ? input.result : 'malformed verdict';
  const score = typeof input?.score === 'number' ? ` (score ${round(input.score)})` : '';
  const why = typeof input?.explanation === 'string' ? `: ${input.explanation.split('\n')[0] ?? ''}` : '';
  return `${result}${score}${why}`;
}

/** A retry tells the model what its last answer was and what was wrong with it. */
export interface Retry {
  previous: Exclude<Answer, { kind: 'error' }>;
  problem: string;
}

export type Asked =
  | { kind: 'verdict'; verdict: JudgeVerdict }
  | { kind: 'malformed'; problem: string }
  | { kind: 'error'; message: string };

/** Asks once; a malformed answer is asked again once, with the problem named; then it is malformed. */
export async function askForVerdict(
  ask: (retry?: Retry) => Promise<Answer>,
  expected: readonly string[],
): Promise<Asked> {
  let retry: Retry | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const answer = await ask(retry);
    if (answer.kind === 'error') return { kind: 'error', message: answer.message };
    if (answer.kind === 'none') {
      // Text is never read as a verdict, whatever it holds.
      const problem = answer.problem ?? `no ${VERDICT_TOOL} call: the verdict is only read from that call`;
      retry = { previous: answer, problem };
      continue;
    }
    const parsed = validateVerdict(answer.input, expected);
    if (parsed.ok) return { kind: 'verdict', verdict: parsed.verdict };
    retry = { previous: answer, problem: parsed.problem };
  }
  return { kind: 'malformed', problem: retry?.problem ?? 'no answer' };
}

export function retryInstruction(problem: string): string {
  return `That was not a valid verdict: ${problem}.\nCall ${VERDICT_TOOL} again with the verdict fixed.`;
}

/** The last answer as the model is shown it on a retry. */
export function previousAnswer(previous: Retry['previous']): string {
  if (previous.kind === 'call') return `${VERDICT_TOOL} ${JSON.stringify(previous.input ?? {})}`;
  return previous.text.trim() || '(no verdict call, and no text)';
}

/**
 * The grader verdict for what was asked: passing needs `satisfied` and a score at or above the
 * threshold; a malformed answer or a failed call is an error, never a pass.
 */
export function toGraderVerdict(
  base: { name: string; kind: string; started: number; where: string },
  asked: Asked,
  threshold: number,
): GraderVerdict {
  const verdict: GraderVerdict = {
    name: base.name,
    kind: base.kind,
    passed: false,
    feedback: '',
    durationMs: Date.now() - base.started,
  };
  if (asked.kind === 'error') {
    verdict.error = `${base.where}: ${asked.message}`;
    verdict.feedback = `the ${base.kind} could not give a verdict: ${asked.message}`;
    return verdict;
  }
  if (asked.kind === 'malformed') {
    verdict.error = `${base.where}: ${MALFORMED_PREFIX} after one retry: ${asked.problem}`;
    verdict.feedback = `the ${base.kind} gave no valid verdict (${asked.problem}); the work is not accepted`;
    return verdict;
  }
  const { verdict: judged } = asked;
  verdict.score = judged.score;
  verdict.passed = judged.result === 'satisfied' && judged.score >= threshold;
  const note =
    judged.result === 'satisfied' && judged.score < threshold
      ? `The score ${round(judged.score)} is below the threshold ${threshold}: not accepted yet.`
      : undefined;
  verdict.feedback = verdictFeedback(judged, note);
  return verdict;
}
