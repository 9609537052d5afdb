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

/**
 * The objects written at the top level of `text`, in order: a balanced `{...}` (strings and escapes
 * respected) that parses as JSON, and is not inside another that does. Braces that do not make
 * an object (`{not json}`) are looked inside.
 */
function topLevelObjects(text: string): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  let start = text.indexOf('{');
  while (start >= 0) {
    const end = balancedEnd(text, start);
    const object = end === undefined ? undefined : parseObject(text.slice(start, end + 1));
    if (object && end !== undefined) {
      found.push(object);
      start = text.indexOf('{', end + 1);
    } else {
      start = text.indexOf('{', start + 1);
    }
  }
  return found;
}

/** The index of the `}` closing the `{` at `start`, or undefined when it is never closed. */
function balancedEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return undefined;
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
 * The bodies of the fenced blocks tagged `json`, or untagged and holding an object, in order. Read
 * line by line, so a fenced block of another language (a quoted diff) is skipped whole.
 */
function jsonFences(text: string): string[] {
  const blocks: string[] = [];
  let open: { lang: string; fence: string; lines: string[] } | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (open) {
      if (line.trim() === open.fence) {
        const body = open.lines.join('\n');
        if (open.lang === 'json' || (open.lang === '' && body.trim().startsWith('{'))) blocks.push(body);
        open = undefined;
      } else {
        open.lines.push(line);
      }
      continue;
    }
    const opening = /^\s*(`{3,}|~{3,})\s*([\w-]*)\s*$/.exec(line);
    if (opening) open = { fence: opening[1] ?? '```', lang: (opening[2] ?? '').toLowerCase(), lines: [] };
  }
  return blocks;
}

export type Extracted =
  { kind: 'object'; object: Record<string, unknown> } | { kind: 'none'; problem: string };

/**
 * The verdict object in a model's reply. A judge's reply may quote the agent's work, and the agent
 * can plant a verdict-shaped object in that work, so the reply's own answer is taken, which comes
 * last: the whole reply when it is one object; else the last fenced json block; else the last
 * top-level object with a `result` key.
 */
export function extractVerdictObject(text: string): Extracted {
  const whole = parseObject(text.trim());
  if (whole) return { kind: 'object', object: whole };
  const fenced = jsonFences(text).at(-1);
  if (fenced !== undefined) {
    const object = parseObject(fenced.trim());
    return object
      ? { kind: 'object', object }
      : { kind: 'none', problem: 'the last ```json block is not one valid JSON object' };
  }
  const objects = topLevelObjects(text);
  const last = objects.filter((o) => 'result' in o).at(-1) ?? objects.at(-1);
  return last
    ? { kind: 'object', object: last }
    : { kind: 'none', problem: 'the reply holds no JSON object' };
}

/** The verdict object in a model's reply (see extractVerdictObject), or undefined. */
export function extractJsonObject(text: string): Record<string, unknown> | undefined {
  const extracted = extractVerdictObject(text);
  return extracted.kind === 'object' ? extracted.object : undefined;
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
 * `expected` are the rubric's criterion names: when there are any, the verdict must grade every one
 * of them and no other (case and whitespace aside). A verdict that skips a criterion could pass work
 * that fails it.
 */
export function parseVerdict(text: string, expected: readonly string[] = []): VerdictParse {
  const extracted = extractVerdictObject(text);
  if (extracted.kind === 'none') return { ok: false, problem: extracted.problem };
  const parsed = judgeVerdictSchema.safeParse(extracted.object);
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
