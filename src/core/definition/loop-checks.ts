/**
 * Checks of a LOOP.md that the schema cannot make: they need the folder name or the file system.
 * They read the raw YAML defensively, so they run (and report) even when the schema found problems.
 */
import path from 'node:path';
import { readText } from './files.js';
import { MAX_YAML_NESTING, tooDeeplyNested, type YamlBlock } from './front-matter.js';
import { valueAt } from './issues.js';
import { escapesRepo, repoRelative } from './paths.js';
import { fieldName } from './problems.js';
import type { DefinitionProblem } from './problems.js';
import { loadRubricFile } from './rubric.js';
import { captureGroups, regexProblem } from './checks.js';
import { parseScript } from '../../models/script.js';
import type { RubricCriterion } from './schema.js';

export interface LoopPlace {
  repoRoot: string;
  /** Absolute loop folder. */
  dir: string;
  /** The folder's name. */
  name: string;
  /** LOOP.md, repo-relative. */
  file: string;
  yaml: YamlBlock;
}

export function checkName(
  place: LoopPlace,
  alreadyReported: readonly DefinitionProblem[],
): DefinitionProblem[] {
  const value = valueAt(place.yaml.value, ['name']);
  if (typeof value !== 'string' || value === place.name) return [];
  if (alreadyReported.some((problem) => problem.field === 'name')) return [];
  return [
    {
      file: place.file,
      line: place.yaml.lineOf(['name']),
      field: 'name',
      message: `"${value}" must equal the folder name "${place.name}": rename one of them`,
    },
  ];
}

/** The scripted provider replays a script file, so a missing one would fail only once the run starts. */
export async function checkScript(place: LoopPlace): Promise<DefinitionProblem[]> {
  if (valueAt(place.yaml.value, ['agent', 'provider']) !== 'scripted') return [];
  const given = valueAt(place.yaml.value, ['agent', 'script']);
  if (given !== undefined && typeof given !== 'string') return []; // the schema reports it
  const script = given ?? 'SCRIPT.yaml';
  const where = given === undefined ? ['agent', 'provider'] : ['agent', 'script'];
  const at = (message: string): DefinitionProblem[] => [
    { file: place.file, line: place.yaml.lineOf(where), field: where.join('.'), message },
  ];
  const escape = escapesRepo(place.repoRoot, place.dir, script);
  if (escape !== undefined) return at(`the script ${escape}`);
  const absolute = path.resolve(place.dir, script);
  const file = repoRelative(place.repoRoot, absolute);
  const read = await readText(absolute, file, place.repoRoot);
  if (read.kind === 'error') return [read.problem];
  if (read.kind === 'missing') {
    return at(
      `the scripted provider needs its script, but ${file} does not exist: ` +
        'create it, or set agent.script to a file relative to the loop folder',
    );
  }
  const deep = tooDeeplyNested(read.text);
  if (deep !== undefined) {
    return [
      {
        file,
        line: deep,
        field: '(script)',
        message: `the YAML nests lists or maps deeper than ${MAX_YAML_NESTING} levels`,
      },
    ];
  }
  // The provider parses it only when the run starts: a bad script is found here instead.
  try {
    parseScript(read.text, file);
    return [];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const placed = new RegExp(`^${escapeRegExp(file)}(?::(\\d+))?: (.*)$`, 's').exec(message);
    const line = placed?.[1] === undefined ? 1 : Number(placed[1]);
    const text = /alias/i.test(message)
      ? 'the YAML aliases expand too far: write the turns out instead of repeating *aliases'
      : (placed?.[2] ?? message);
    return [{ file, line, field: '(script)', message: text }];
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What the schema accepts but a person should know: a metric pattern without a capture group reads
 * the whole match as the number, so "score: 12" would never be read.
 */
export function metricWarnings(place: LoopPlace): DefinitionProblem[] {
  const warnings: DefinitionProblem[] = [];
  forEachGrader(place, (index, grader) => {
    const pattern = valueAt(grader, ['metric', 'pattern']);
    if (typeof pattern !== 'string' || regexProblem(pattern) !== undefined) return;
    if (captureGroups(pattern) > 0) return;
    const where = ['verify', index, 'metric', 'pattern'];
    warnings.push({
      file: place.file,
      line: place.yaml.lineOf(where),
      field: fieldName(where),
      message:
        'the pattern has no capture group, so the whole match must be the number; put the number in ( ), e.g. "score: ([0-9.]+)"',
    });
  });
  return warnings;
}

/** Protected paths are the graders' own inputs in the repository; outside it they protect nothing. */
export function checkProtect(place: LoopPlace): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  forEachGrader(place, (index, grader) => {
    const protect = grader['protect'];
    if (!Array.isArray(protect)) return;
    protect.forEach((entry: unknown, position) => {
      if (typeof entry !== 'string') return;
      const escape = escapesRepo(place.repoRoot, place.repoRoot, entry);
      if (escape === undefined) return;
      const where = ['verify', index, 'protect', position];
      problems.push({
        file: place.file,
        line: place.yaml.lineOf(where),
        field: fieldName(where),
        message: `${escape} (protected paths are relative to the repository root)`,
      });
    });
  });
  return problems;
}

/**
 * Providers that cannot return a verdict as structured output. A rubric judge and a checker give
 * theirs only that way (a forced tool call: anthropic, openai, the scripted provider; --json-schema:
 * claude-code), never in text the agent's work could have planted, so on these they cannot judge.
 */
const NO_STRUCTURED_VERDICT: Readonly<Record<string, string>> = {
  codex: 'Codex exec (its --output-schema is not wired in yet)',
  command: 'a command provider, which answers in plain text',
};

const JUDGING_PROVIDERS = 'anthropic, openai, claude-code or scripted';

/** A rubric or checker grader, the default checker included, on a provider that cannot give its verdict. */
export function checkJudges(place: LoopPlace): DefinitionProblem[] {
  const provider = valueAt(place.yaml.value, ['agent', 'provider']);
  if (typeof provider !== 'string') return [];
  const what = NO_STRUCTURED_VERDICT[provider];
  if (what === undefined) return [];
  const cannot = `gives its verdict as structured output (a forced tool call), which ${what} cannot return`;
  const fix = `grade with a command or metric grader, or use provider ${JUDGING_PROVIDERS}`;
  if (valueAt(place.yaml.value, ['verify']) === undefined) {
    return [
      {
        file: place.file,
        line: place.yaml.lineOf(['agent', 'provider']),
        field: 'agent.provider',
        message: `without verify:, a checker agent grades the work; a checker ${cannot}: add verify: and ${fix}`,
      },
    ];
  }
  const problems: DefinitionProblem[] = [];
  forEachGrader(place, (index, grader) => {
    const kind = 'rubric' in grader ? 'rubric judge' : 'checker' in grader ? 'checker' : undefined;
    if (kind === undefined) return;
    const where = ['verify', index];
    problems.push({
      file: place.file,
      line: place.yaml.lineOf(where),
      field: fieldName(where),
      message: `a ${kind} ${cannot} (agent.provider is ${provider}): ${fix}`,
    });
  });
  return problems;
}

export interface RubricsLoad {
  rubric?: { path: string; criteria: RubricCriterion[] };
  problems: DefinitionProblem[];
}

/**
 * The rubric graders' files (relative to the loop folder), then loops/NAME/RUBRIC.md. The definition
 * carries the first rubric a grader names, else RUBRIC.md.
 */
export async function loadRubrics(place: LoopPlace): Promise<RubricsLoad> {
  const problems: DefinitionProblem[] = [];
  const loaded = new Map<string, RubricCriterion[]>();
  // Each file is read and reported once, however many graders (and the RUBRIC.md default) name it.
  const tried = new Set<string>();
  let chosen: string | undefined;

  const references: Array<{ index: number; rubric: string }> = [];
  forEachGrader(place, (index, grader) => {
    const rubric = grader['rubric'];
    if (typeof rubric === 'string' && rubric !== '') references.push({ index, rubric });
  });
  for (const { index, rubric } of references) {
    const at = (message: string): DefinitionProblem => ({
      file: place.file,
      line: place.yaml.lineOf(['verify', index, 'rubric']),
      field: fieldName(['verify', index, 'rubric']),
      message,
    });
    const escape = escapesRepo(place.repoRoot, place.dir, rubric);
    if (escape !== undefined) {
      problems.push(at(`the rubric ${escape}`));
      continue;
    }
    const absolute = path.resolve(place.dir, rubric);
    const file = repoRelative(place.repoRoot, absolute);
    if (!tried.has(file)) {
      tried.add(file);
      const result = await loadRubricFile(absolute, file, place.repoRoot);
      if (result.kind === 'missing') {
        problems.push(
          at(`no rubric at ${file}: create it, or fix the path (it is relative to the loop folder)`),
        );
        continue;
      }
      if (result.kind === 'invalid') {
        problems.push(result.problem);
        continue;
      }
      loaded.set(file, result.criteria);
    }
    if (loaded.has(file)) chosen ??= file;
  }

  const defaultFile = repoRelative(place.repoRoot, path.join(place.dir, 'RUBRIC.md'));
  if (!tried.has(defaultFile)) {
    tried.add(defaultFile);
    const result = await loadRubricFile(path.join(place.dir, 'RUBRIC.md'), defaultFile, place.repoRoot);
    if (result.kind === 'invalid') problems.push(result.problem);
    if (result.kind === 'loaded') loaded.set(defaultFile, result.criteria);
  }
  chosen ??= loaded.has(defaultFile) ? defaultFile : undefined;

  const criteria = chosen === undefined ? undefined : loaded.get(chosen);
  return chosen === undefined || criteria === undefined
    ? { problems }
    : { rubric: { path: chosen, criteria }, problems };
}

function forEachGrader(
  place: LoopPlace,
  visit: (index: number, grader: Record<string, unknown>) => void,
): void {
  const verify = valueAt(place.yaml.value, ['verify']);
  if (!Array.isArray(verify)) return;
  verify.forEach((grader: unknown, index) => {
    if (grader !== null && typeof grader === 'object' && !Array.isArray(grader)) {
      visit(index, grader as Record<string, unknown>);
    }
  });
}
