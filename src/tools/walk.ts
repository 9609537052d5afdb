/**
 * Globbing inside the worktree, for list_files and search: no symlinks, no .git, no node_modules,
 * and none of loops' own folders (state/, .loops/).
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { loopsOwnFolder, PathRefusedError, resolveInWorktree } from './paths.js';

const IGNORED = ['**/.git', '**/.git/**', '**/node_modules/**'];

export interface WalkResult {
  /** Paths relative to the worktree root, '/'-separated, sorted. */
  files: string[];
  /** The searched folder or file relative to the worktree root ('' for the root). */
  base: string;
}

function escapesPattern(pattern: string): boolean {
  return (
    path.posix.isAbsolute(pattern) || path.win32.isAbsolute(pattern) || pattern.split(/[/\\]/).includes('..')
  );
}

/**
 * Files matching `pattern` under `where` (a folder or a single file inside the worktree). Symlinks
 * are never followed, so nothing outside the worktree is listed or read through one.
 */
export async function walk(
  worktree: string,
  where: string,
  pattern: string,
  signal?: AbortSignal,
): Promise<WalkResult> {
  if (escapesPattern(pattern)) {
    throw new PathRefusedError(
      `refused: the pattern ${pattern} reaches outside the folder; use a relative pattern and the path field`,
      pattern,
      'outside',
    );
  }
  const root = await realpath(worktree);
  const target = await resolveInWorktree(worktree, where, 'read');
  const base = path.relative(root, target).split(path.sep).join('/');
  const info = await stat(target);
  if (!info.isDirectory()) return { files: [base], base };

  const found = await glob(pattern, {
    cwd: target,
    dot: true,
    followSymbolicLinks: false,
    ignore: base === '' ? [...IGNORED, 'state/**', '.loops/**'] : IGNORED,
    onlyFiles: true,
    ...(signal ? { signal } : {}),
  });
  const files = found
    .map((rel) => path.posix.join(base, rel))
    // A brace or extglob can still spell "..": keep only what is really inside.
    .filter((rel) => rel !== '..' && !rel.startsWith('../') && !path.posix.isAbsolute(rel))
    .filter((rel) => loopsOwnFolder(rel) === undefined)
    .sort();
  return { files, base };
}
