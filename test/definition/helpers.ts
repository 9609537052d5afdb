import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import type { LoadResult } from '../../src/core/definition/load.js';
import type { DefinitionProblem } from '../../src/core/definition/problems.js';

const made: string[] = [];

afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A temporary repository root holding `files` (repo-relative path → content); removed after the test. */
export async function tempRepo(files: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'loops-definition-'));
  made.push(root);
  await writeFiles(root, files);
  return root;
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
}

/** LOOP.md text from lines; the front matter fences are written by the caller so line numbers stay visible. */
export function lines(...text: string[]): string {
  return `${text.join('\n')}\n`;
}

export function problemsOf(result: LoadResult): DefinitionProblem[] {
  if (result.ok)
    throw new Error(`expected problems, but the loop loaded: ${JSON.stringify(result.definition.name)}`);
  return result.problems;
}

/** The one problem for `field`, checked for its line and (part of) its message. */
export function expectProblem(
  problems: readonly DefinitionProblem[],
  expected: { field: string; line: number; message?: string | RegExp; file?: string },
): DefinitionProblem {
  const matching = problems.filter((problem) => problem.field === expected.field);
  expect(matching, `problems for ${expected.field} in ${JSON.stringify(problems, null, 1)}`).toHaveLength(1);
  const [problem] = matching;
  expect(problem!.line).toBe(expected.line);
  if (expected.file !== undefined) expect(problem!.file).toBe(expected.file);
  if (typeof expected.message === 'string') expect(problem!.message).toContain(expected.message);
  else if (expected.message !== undefined) expect(problem!.message).toMatch(expected.message);
  return problem!;
}
