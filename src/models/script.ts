/**
 * The scripted provider's script: a YAML file in the loop's folder, validated with zod. A bad script
 * is a config error naming the file, the line and the field (turns[2].when.matches), so nothing runs.
 */
import { readFile } from 'node:fs/promises';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ProviderError } from './provider.js';

const STEPS = ['work', 'triage', 'summary', 'review', 'analyst'] as const;

function isRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

const whenSchema = z
  .strictObject({
    /** The last user message contains this text. */
    contains: z.string().min(1).optional(),
    /** The last user message matches this regular expression (JavaScript syntax). */
    matches: z.string().min(1).refine(isRegex, { message: 'not a valid regular expression' }).optional(),
    /** The request is for this step (work, triage, summary, review, analyst). */
    step: z.enum(STEPS).optional(),
    /** The system prompt (rules, task, skills) contains this text: a model that does better with a better skill. */
    system_contains: z.string().min(1).optional(),
  })
  .refine(
    (when) =>
      when.contains !== undefined ||
      when.matches !== undefined ||
      when.step !== undefined ||
      when.system_contains !== undefined,
    { message: 'give at least one of contains, matches, step, system_contains' },
  );

const toolCallSchema = z.strictObject({
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()).prefault({}),
});

const turnSchema = z
  .strictObject({
    when: whenSchema.optional(),
    text: z.string().optional(),
    tool_calls: z.array(toolCallSchema).optional(),
    /** A repeating turn is never used up. */
    repeat: z.boolean().prefault(false),
  })
  .refine((turn) => turn.text !== undefined || (turn.tool_calls?.length ?? 0) > 0, {
    message: 'a turn needs text, tool_calls or both',
  });

export const scriptSchema = z.strictObject({ turns: z.array(turnSchema).min(1) });

export type Script = z.infer<typeof scriptSchema>;
export type ScriptTurn = Script['turns'][number];
export type ScriptCondition = NonNullable<ScriptTurn['when']>;

export async function loadScript(file: string): Promise<Script> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new ProviderError(
      'config',
      `${file}: cannot read the script (${reason}); create it, or point agent.script at it`,
      'scripted',
      false,
      { cause: error },
    );
  }
  return parseScript(source, file);
}

/** `file` is only used to name the place in errors. */
export function parseScript(source: string, file: string): Script {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lines.linePos(yamlError.pos[0]).line;
    throw configError(`${file}:${line}: not valid YAML: ${yamlError.message}`);
  }
  const result = scriptSchema.safeParse(doc.toJS());
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.filter((key) => typeof key !== 'symbol');
    const line = lineOf(doc, lines, path);
    const where = path.length > 0 ? formatPath(path) : 'the script';
    return `${file}${line ? `:${line}` : ''}: ${where}: ${issue.message}`;
  });
  throw configError(problems.join('; '));
}

function configError(message: string): ProviderError {
  return new ProviderError('config', message, 'scripted');
}

/** turns[2].tool_calls[0].name */
function formatPath(path: Array<string | number>): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/** The line of the deepest node on `path` that exists (a missing field points at its parent). */
function lineOf(doc: Document, lines: LineCounter, path: Array<string | number>): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
