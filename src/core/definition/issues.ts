/**
 * Turns zod issues into problems at the YAML line of the field they are about, with messages that say
 * what was expected and what was found. Unions are resolved to the member the value was meant to be,
 * so the problem points at the real field instead of "Invalid input".
 */
import { z } from 'zod';
import type { YamlBlock } from './front-matter.js';
import { fieldName } from './problems.js';
import type { DefinitionProblem } from './problems.js';
import { allowedKeys, describeExpected, describeValue, expectedGot, schemaAt } from './schema-describe.js';
import { resolveUnion } from './union.js';

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

export interface IssueContext {
  file: string;
  yaml: YamlBlock;
}

/** Validates the YAML against `schema`: the parsed data, or every problem found. */
export function validateYaml<S extends Schema>(
  schema: S,
  yaml: YamlBlock,
  file: string,
): { ok: true; data: z.output<S> } | { ok: false; problems: DefinitionProblem[] } {
  const result = z.safeParse(schema, yaml.value);
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, problems: issuesToProblems(result.error.issues, schema, [], { file, yaml }) };
}

/**
 * `root` is the schema the issues came from and `prefix` is where its value sits in the YAML
 * (a union member's issues are relative to the member).
 */
export function issuesToProblems(
  issues: readonly Issue[],
  root: Schema,
  prefix: Path,
  context: IssueContext,
): DefinitionProblem[] {
  return issues.flatMap((issue) => issueToProblems(issue, root, prefix, context));
}

function issueToProblems(
  issue: Issue,
  root: Schema,
  prefix: Path,
  context: IssueContext,
): DefinitionProblem[] {
  const local = issue.path;
  const path = [...prefix, ...local];
  const at = (where: Path, message: string): DefinitionProblem => ({
    file: context.file,
    line: context.yaml.lineOf(where),
    field: fieldName(where),
    message,
  });
  const value = valueAt(context.yaml.value, path);
  const rootValue = valueAt(context.yaml.value, prefix);
  const schema = schemaAt(root, local, (union, depth) => {
    const choice = resolveUnion(union, valueAt(rootValue, local.slice(0, depth)));
    return choice.kind === 'member' ? choice.schema : undefined;
  });

  switch (issue.code) {
    case 'unrecognized_keys': {
      const choice = schema instanceof z.ZodUnion ? resolveUnion(schema, value) : undefined;
      const mapping = choice === undefined ? schema : choice.kind === 'member' ? choice.schema : undefined;
      const allowed = mapping === undefined ? [] : allowedKeys(mapping);
      return issue.keys.map((key) => at([...path, key], unknownKeyMessage(key, allowed)));
    }
    case 'invalid_union': {
      const union = schema === undefined ? undefined : unionOf(schema);
      if (union === undefined) return [at(path, issue.message)];
      const resolved = resolveUnion(union, value);
      if (resolved.kind === 'member') {
        const memberIssues = z.safeParse(resolved.schema, value);
        if (!memberIssues.success) {
          return issuesToProblems(memberIssues.error.issues, resolved.schema, path, context);
        }
      }
      return [at(path, resolved.kind === 'problem' ? resolved.message : issue.message)];
    }
    case 'invalid_type': {
      if (value === undefined && !context.yaml.has(path)) return [at(path, 'required, but missing')];
      if (local.length === 0 && prefix.length === 0) {
        return [at(path, `the front matter must be "key: value" settings; got ${describeValue(value)}`)];
      }
      return [at(path, expectedMessage(schema, issue.expected, value))];
    }
    case 'too_small':
    case 'too_big':
      return [at(path, sizeMessage(issue, schema, value))];
    case 'invalid_value':
      return [
        at(path, `expected one of: ${issue.values.map(String).join(', ')}; got ${describeValue(value)}`),
      ];
    case 'invalid_format':
      if (issue.format === 'url')
        return [at(path, `expected a URL like http://localhost:11434/v1, got ${describeValue(value)}`)];
      return [at(path, `${describeValue(value)}: ${issue.message}`)];
    default:
      return [at(path, issue.message)];
  }
}

function unionOf(schema: Schema): z.ZodUnion | undefined {
  return schema instanceof z.ZodUnion ? schema : undefined;
}

function expectedMessage(schema: Schema | undefined, fallback: string, value: unknown): string {
  const expected = (schema === undefined ? undefined : describeExpected(schema)) ?? fallback;
  // YAML reads `3` or `yes` unquoted as a number or a boolean.
  const quote =
    expected === 'text' && (typeof value === 'number' || typeof value === 'boolean')
      ? ` (put it in quotes: "${String(value)}")`
      : '';
  return `${expectedGot(expected, value)}${quote}`;
}

function sizeMessage(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  schema: Schema | undefined,
  value: unknown,
): string {
  const small = issue.code === 'too_small';
  const bound = small ? issue.minimum : issue.maximum;
  // A limit the schema explains itself (zod's own wording starts "Too small"/"Too big") says it best.
  if (!/^Too (small|big)/.test(issue.message)) return issue.message;
  switch (issue.origin) {
    case 'string':
      if (small && Number(bound) === 1) return 'must not be empty';
      return `must be ${small ? 'at least' : 'at most'} ${String(bound)} characters long (it has ${String(lengthOf(value))})`;
    case 'array':
      return `needs ${small ? 'at least' : 'at most'} ${String(bound)} item${Number(bound) === 1 ? '' : 's'}`;
    default:
      return expectedMessage(schema, `${small ? 'at least' : 'at most'} ${String(bound)}`, value);
  }
}

function lengthOf(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const near = allowed.find((candidate) => editDistance(candidate, key) <= 2);
  const hint = near === undefined ? '' : `; did you mean "${near}"?`;
  return `unknown key "${key}"${hint} (allowed keys: ${allowed.join(', ')})`;
}

/** Levenshtein distance, for "did you mean" on short keys. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The plain value at `path` in data parsed from YAML. */
export function valueAt(root: unknown, path: Path): unknown {
  let current = root;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment] as unknown;
    else if (
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current) &&
      typeof segment === 'string'
    ) {
      current = (current as Record<string, unknown>)[segment];
    } else return undefined;
  }
  return current;
}
