import { readdir, readFile, stat } from 'node:fs/promises';
import type { DefinitionProblem } from './problems.js';

export type TextRead =
  { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'error'; problem: DefinitionProblem };

/** Reads a definition file; a missing file is an answer, any other failure a problem at `file`. */
export async function readText(absolute: string, file: string): Promise<TextRead> {
  try {
    return { kind: 'text', text: await readFile(absolute, 'utf8') };
  } catch (error) {
    if (isNotFound(error)) return { kind: 'missing' };
    const reason = error instanceof Error ? error.message : String(error);
    return {
      kind: 'error',
      problem: { file, line: 1, field: '(file)', message: `could not read it: ${reason}` },
    };
  }
}

export async function isFile(absolute: string): Promise<boolean> {
  try {
    return (await stat(absolute)).isFile();
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

/** Sorted names of the folders in `dir`; none when `dir` does not exist. */
export async function listDirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}
