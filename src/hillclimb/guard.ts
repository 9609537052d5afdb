/**
 * The mechanical checks on a proposed diff. The analyst is a model that read an untrusted agent's
 * traces, so nothing it says about its diff is trusted: the diff itself is parsed and applied here,
 * and refused unless it changes exactly one harness file (a SKILL.md or the task prompt in LOOP.md),
 * applies cleanly to that file as it is now, leaves every setting alone (LOOP.md's front
 * matter: graders' commands under `verify:`, `budget:`, `hillclimb:`, `approve:`, `sandbox:`...), touches no
 * file a grader protects, and is not a change a person already rejected.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { applyPatch, parsePatch } from 'diff';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import type { LoopDefinition } from '../core/definition/schema.js';
import { splitFrontMatter } from '../core/definition/front-matter.js';
import { protectedPaths } from '../core/verify/protect.js';
import { commandProtects } from '../core/verify/grader-inputs.js';

export type GuardResult = { ok: true; before: string; after: string } | { ok: false; reason: string };

/**
 * The files a proposal may change, relative to the repository root, '/'-separated. Not the rubric:
 * the agent never sees it, and the evaluation grades both arms by the original rubric (never by
 * itself), so a change to it would measure the same in both arms; it is not offered (the analyst
 * reads it, as rubricFile) and the guard refuses it.
 */
export function harnessFiles(def: LoopDefinition): string[] {
  const loopDir = `loops/${def.name}`;
  const files = [`${loopDir}/LOOP.md`, ...def.skills.map((s) => s.path.split(path.sep).join('/'))];
  return [...new Set(files)];
}

/** The loop's rubric, which the analyst reads but a proposal never changes. */
export function rubricFile(def: LoopDefinition): string | undefined {
  return def.rubric?.path;
}

/** The lines a diff adds and removes, without context or positions: two diffs making one change compare equal. */
export function changeKey(diff: string): string {
  try {
    return parsePatch(diff)
      .flatMap((p) => p.hunks.flatMap((h) => h.lines))
      .filter((line) => line.startsWith('+') || line.startsWith('-'))
      .map((line) => line.replace(/\s+$/, ''))
      .join('\n');
  } catch {
    return diff.trim();
  }
}

export interface GuardInput {
  repoRoot: string;
  definition: LoopDefinition;
  file: string;
  diff: string;
  /** Diffs people rejected before (any file). */
  rejected: readonly string[];
}

export async function checkProposal(input: GuardInput): Promise<GuardResult> {
  const { definition: def } = input;
  const file = input.file.trim();
  const allowed = harnessFiles(def);
  if (file === rubricFile(def) || file === `loops/${def.name}/RUBRIC.md`) {
    return refuse(
      `${file} is the rubric: the evaluation grades both arms by the rubric as it is, so a change to it cannot be measured, and a proposal never changes it`,
    );
  }
  if (!allowed.includes(file)) {
    return refuse(
      `it changes ${JSON.stringify(file)}, which is not one of the loop's harness files (${allowed.join(', ')})`,
    );
  }
  const guarded = await graderInputs(def, input.repoRoot);
  if (guarded.some((glob) => picomatch(glob, { dot: true })(file))) {
    return refuse(`${file} is an input of a grader (protected), which a proposal never changes`);
  }
  let patches: ReturnType<typeof parsePatch>;
  try {
    patches = parsePatch(input.diff);
  } catch (error) {
    return refuse(
      `the diff is not a unified diff (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const real = patches.filter((p) => p.hunks.length > 0);
  if (real.length !== 1 || patches.length > 1)
    return refuse('a proposal changes exactly one file, in one diff');
  const patch = real[0];
  if (!patch) return refuse('the diff has no hunks');
  for (const name of [patch.oldFileName, patch.newFileName]) {
    if (name !== undefined && name !== '/dev/null' && stripPrefix(name) !== file) {
      return refuse(`the diff names ${JSON.stringify(name)}, not ${file}`);
    }
  }
  let before: string;
  try {
    before = await readFile(path.join(input.repoRoot, file), 'utf8');
  } catch {
    return refuse(`${file} cannot be read`);
  }
  const after = applyPatch(before, patch);
  if (after === false) return refuse(`the diff does not apply cleanly to ${file} as it is now`);
  if (after === before) return refuse('the diff changes nothing');
  const key = changeKey(input.diff);
  if (input.rejected.some((diff) => changeKey(diff) === key)) {
    return refuse('a person already rejected this change');
  }
  const settings = settingsProblem(file, before, after, def);
  if (settings) return refuse(settings);
  return { ok: true, before, after };
}

function refuse(reason: string): GuardResult {
  return { ok: false, reason: `refused: ${reason}` };
}

function stripPrefix(name: string): string {
  return name.replace(/^[ab]\//, '').replace(/\t.*$/, '');
}

/**
 * Files the graders read: what a loop's graders name themselves (their `protect:` globs and the scripts
 * their commands run), whichever files those are, a skill included. protectedPaths also guards the
 * loop's LOOP.md and rubric from the agent by default; those built-in defaults are the harness a
 * proposal changes, so they alone are left out (a grader naming one of them still protects it).
 */
async function graderInputs(def: LoopDefinition, repoRoot: string): Promise<string[]> {
  const named: string[] = [];
  for (const grader of def.verify) {
    named.push(...grader.protect);
    if ('command' in grader) named.push(...(await commandProtects(grader.command, repoRoot)));
    if ('metric' in grader) named.push(...(await commandProtects(grader.metric.command, repoRoot)));
  }
  const loopDir = `loops/${def.name}`;
  const defaults = new Set([`${loopDir}/LOOP.md`, `${loopDir}/RUBRIC.md`, def.rubric?.path]);
  for (const grader of def.verify) {
    if ('rubric' in grader) defaults.add(path.posix.normalize(`${loopDir}/${grader.rubric}`));
  }
  const all = await protectedPaths(def, repoRoot);
  return [...new Set([...named, ...all.filter((glob) => !defaults.has(glob))])];
}

/**
 * LOOP.md: only the task prompt (the body) may change; the front matter must stay byte for byte.
 * SKILL.md: the body and its description may change, never its name or allowed tools.
 */
function settingsProblem(
  file: string,
  before: string,
  after: string,
  def: LoopDefinition,
): string | undefined {
  const isLoopFile = file === `loops/${def.name}/LOOP.md`;
  const old = splitFrontMatter(before, file);
  const now = splitFrontMatter(after, file);
  if (!old.ok) return `${file} has no front matter to compare`;
  if (!now.ok) return `it breaks ${file}'s front matter`;
  if (isLoopFile) {
    if (old.parts.yamlText !== now.parts.yamlText) {
      return "it changes LOOP.md's settings (the front matter: graders, budgets, approvals, sandbox, hillclimb); only the task prompt may change";
    }
    return undefined;
  }
  const a = asRecord(old.parts.yamlText);
  const b = asRecord(now.parts.yamlText);
  if (!b) return `it breaks ${file}'s front matter`;
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b)]);
  for (const key of keys) {
    if (key === 'description') continue;
    if (JSON.stringify(a?.[key]) !== JSON.stringify(b[key])) return `it changes the skill's "${key}" setting`;
  }
  return undefined;
}

function asRecord(yamlText: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = parseYaml(yamlText);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
