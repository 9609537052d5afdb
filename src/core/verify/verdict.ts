/**
 * The structured verdict a rubric judge or a checker agent gives: read out of the model's reply,
 * validated with zod, and asked for once more (saying what was wrong) when it is malformed. A verdict
 * that is still malformed is a grader error, never a pass.
 */
import { z } from 'zod';
import type { GraderVerdict } from '../events.js';

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

/** What the model is told to answer; shared by the judge and the checker. */
export const VERDICT_FORMAT = `Answer with one JSON object and nothing else, in this shape:
{"result": "satisfied" | "needs_revision" | "failed",
 "score": <a number from 0 to 1>,
 "explanation": "<one or two sentences: the verdict and its main reason>",
 "criteria": [{"name": "<criterion>", "passed": true}, {"name": "<criterion>", "passed": false, "gap": "<what is missing or wrong>"}]}
"satisfied" means every criterion passes. "needs_revision" means the work can be fixed; the gaps say how.
"failed" means the work cannot meet the task as it stands. Grade every criterion.`;

/** Marks a grader error as a malformed model answer (the error tracker classifies it so). */
export const MALFORMED_PREFIX = 'malformed verdict';

export function isMalformedVerdictError(message: string): boolean {
  return message.includes(MALFORMED_PREFIX);
}

/** Every balanced `{...}` in `text`, outermost first, strings and escapes respected. */
function objectCandidates(text: string): string[] {
  const found: string[] = [];
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        found.push(text.slice(start, i + 1));
        break;
      }
    }
  }
  return found;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The JSON object in a model's reply: the whole reply, a fenced block, or the first object in the
 * prose that has a `result` (else the first that parses). Models wrap JSON in all three ways.
 */
export function extractJsonObject(text: string): Record<string, unknown> | undefined {
  const whole = parseObject(text.trim());
  if (whole) return whole;
  const fenced = [...text.matchAll(/```(?:json)?\s*\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const candidates = [...fenced, ...objectCandidates(text)];
  const objects = candidates.map(parseObject).filter((o) => o !== undefined);
  return objects.find((o) => 'result' in o) ?? objects[0];
}

export type VerdictParse = { ok: true; verdict: JudgeVerdict } | { ok: false; problem: string };

/** `expected` are the rubric's criterion names: a verdict must grade at least one when there are any. */
export function parseVerdict(text: string, expected: readonly string[] = []): VerdictParse {
  const object = extractJsonObject(text);
  if (!object) return { ok: false, problem: 'the reply holds no JSON object' };
  const parsed = judgeVerdictSchema.safeParse(object);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return `${where}${issue.message}`;
    });
    return { ok: false, problem: problems.join('; ') };
  }
  if (expected.length > 0 && parsed.data.criteria.length === 0) {
    return { ok: false, problem: `criteria is empty: grade each criterion (${expected.join(', ')})` };
  }
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

export type Answer = { kind: 'text'; text: string } | { kind: 'error'; message: string };

/** A retry tells the model what its last answer was and what was wrong with it. */
export interface Retry {
  previous: string;
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
    const parsed = parseVerdict(answer.text, expected);
    if (parsed.ok) return { kind: 'verdict', verdict: parsed.verdict };
    retry = { previous: answer.text, problem: parsed.problem };
  }
  return { kind: 'malformed', problem: retry?.problem ?? 'no answer' };
}

export function retryInstruction(problem: string): string {
  return `Your answer was not a valid verdict: ${problem}.\nAnswer again with only the JSON object described above, fixed.`;
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
