/**
 * Loads loops/NAME: LOOP.md (settings and task), its skills and its rubric, validated as a whole. A bad
 * definition yields every problem found, each with its file, line and field, and no definition.
 */
import path from 'node:path';
import { exists, listDirectories, readText } from './files.js';
import { parseYamlBlock, splitFrontMatter } from './front-matter.js';
import type { MarkdownParts } from './front-matter.js';
import { validateYaml } from './issues.js';
import {
  checkJudges,
  checkName,
  checkProtect,
  checkScript,
  loadRubrics,
  metricWarnings,
} from './loop-checks.js';
import { notYetEnforced } from './not-yet.js';
import { triageWarnings } from './triage-warnings.js';
import { agentSettingWarnings } from '../../models/cli-notes.js';
import type { LoopPlace, RubricsLoad } from './loop-checks.js';
import type { DefinitionProblem } from './problems.js';
import { DEFAULT_MODELS, loopFrontMatterSchema } from './schema.js';
import type { LoopDefinition, LoopFrontMatter } from './schema.js';
import { loadSkills } from './skills.js';
import { checkApproveRules } from '../approval/definition-check.js';
import { checkWatch, declareWebhookSecret, triggerWarnings } from './trigger-checks.js';
import { hillclimbWarnings } from './hillclimb-checks.js';

export type LoadResult =
  /** `warnings` are settings that are accepted but not acted on yet, and other things to know. */
  | { ok: true; definition: LoopDefinition; warnings: DefinitionProblem[] }
  | { ok: false; problems: DefinitionProblem[] };

/**
 * Never throws: whatever goes wrong with one loop's files is that loop's problem, so the other loops
 * still list, validate and run.
 */
export async function loadLoop(repoRoot: string, name: string): Promise<LoadResult> {
  try {
    return await loadLoopFiles(repoRoot, name);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail([
      { file: `loops/${name}/LOOP.md`, line: 1, field: '(file)', message: `could not be loaded: ${reason}` },
    ]);
  }
}

async function loadLoopFiles(repoRoot: string, name: string): Promise<LoadResult> {
  const root = path.resolve(repoRoot);
  const dir = path.join(root, 'loops', name);
  const absolute = path.join(dir, 'LOOP.md');
  const file = `loops/${name}/LOOP.md`;

  const nameCheck = loopFrontMatterSchema.shape.name.safeParse(name);
  if (!nameCheck.success) {
    const reason = nameCheck.error.issues[0]?.message ?? 'not a valid name';
    return fail([{ file, line: 1, field: '(file)', message: `"${name}" is not a loop name: ${reason}` }]);
  }
  const read = await readText(absolute, file, root);
  if (read.kind === 'missing') {
    return fail([
      {
        file,
        line: 1,
        field: '(file)',
        message: `there is no loop "${name}": create ${file}, or run "loops new ${name}"`,
      },
    ]);
  }
  if (read.kind === 'error') return fail([read.problem]);

  const problems: DefinitionProblem[] = [];
  let frontMatter: LoopFrontMatter | undefined;
  let parts: MarkdownParts | undefined;
  let rubrics: RubricsLoad | undefined;
  const warnings: DefinitionProblem[] = [];

  const split = splitFrontMatter(read.text, file);
  if (!split.ok) problems.push(split.problem);
  else {
    parts = split.parts;
    const parsed = parseYamlBlock(parts, file);
    if (!parsed.ok) problems.push(...parsed.problems);
    else {
      const place: LoopPlace = { repoRoot: root, dir, name, file, yaml: parsed.yaml };
      const validated = validateYaml(loopFrontMatterSchema, parsed.yaml, file);
      if (validated.ok) {
        frontMatter = validated.data;
        declareWebhookSecret(frontMatter);
      } else problems.push(...validated.problems);
      problems.push(...checkName(place, problems));
      problems.push(...(await checkScript(place)));
      problems.push(...checkProtect(place));
      problems.push(...checkJudges(place));
      problems.push(...checkApproveRules(place));
      problems.push(...checkWatch(place));
      rubrics = await loadRubrics(place);
      problems.push(...rubrics.problems);
      warnings.push(
        ...notYetEnforced(parsed.yaml, file),
        ...metricWarnings(place),
        ...triageWarnings(parsed.yaml, file),
        ...triggerWarnings(parsed.yaml, file),
        ...hillclimbWarnings(parsed.yaml, file),
      );
      warnings.push(...agentSettingWarnings(place));
    }
    if (parts.body.trim() === '') {
      problems.push({
        file,
        line: parts.bodyLine,
        field: '(task)',
        message: 'the task is empty: write what the agent should do below the closing "---"',
      });
    }
  }
  const skills = await loadSkills(root, dir);
  problems.push(...skills.problems);

  if (problems.length > 0 || frontMatter === undefined || parts === undefined) return fail(problems);
  const definition: LoopDefinition = {
    ...frontMatter,
    model: frontMatter.agent.model ?? DEFAULT_MODELS[frontMatter.agent.provider],
    task: parts.body.trim(),
    dir,
    file: absolute,
    skills: skills.skills,
  };
  if (rubrics?.rubric !== undefined) definition.rubric = rubrics.rubric;
  warnings.sort((a, b) => a.line - b.line);
  return { ok: true, definition, warnings };
}

/**
 * Sorted names of the folders under loops/ that hold a LOOP.md. Anything named LOOP.md counts, even
 * what cannot be read as one (a pipe, a folder, a symlink out): that loop is then listed as invalid
 * with its problem instead of silently missing.
 */
export async function listLoopNames(repoRoot: string): Promise<string[]> {
  const loopsDir = path.join(path.resolve(repoRoot), 'loops');
  const folders = await listDirectories(loopsDir);
  const withLoop = await Promise.all(
    folders.map(async (folder) =>
      (await exists(path.join(loopsDir, folder, 'LOOP.md'))) ? folder : undefined,
    ),
  );
  return withLoop.filter((folder) => folder !== undefined);
}

export async function loadAllLoops(repoRoot: string): Promise<Array<{ name: string; result: LoadResult }>> {
  const names = await listLoopNames(repoRoot);
  return Promise.all(names.map(async (name) => ({ name, result: await loadLoop(repoRoot, name) })));
}

/** LOOP.md's problems first, in file order; then the other files'. */
function fail(problems: DefinitionProblem[]): LoadResult {
  const isLoopFile = (problem: DefinitionProblem): number => (problem.file.endsWith('/LOOP.md') ? 0 : 1);
  const sorted = [...problems].sort(
    (a, b) => isLoopFile(a) - isLoopFile(b) || a.file.localeCompare(b.file) || a.line - b.line,
  );
  return { ok: false, problems: sorted };
}
