/**
 * Confinement: every path the agent names must resolve inside its worktree, after following
 * symlinks, before anything is read or written. Paths are resolved to their real location, so
 * what is checked is what is then opened.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

export type PathRefusal = 'outside' | 'git' | 'protected';

export class PathRefusedError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly reason: PathRefusal,
  ) {
    super(message);
    this.name = 'PathRefusedError';
  }
}

/** Symlink hops followed before giving up, like the kernel's own limit. */
const MAX_LINKS = 40;

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && 'code' in error && codes.includes(String(error.code));
}

/**
 * The real path of `p`, which need not exist: the nearest existing ancestor is resolved, and a
 * dangling symlink on the way is followed to where it points (writing through it would create
 * its target).
 */
async function realpathLoose(p: string, hops = 0): Promise<string> {
  if (hops > MAX_LINKS)
    throw new PathRefusedError(`refused: ${p} has too many levels of symlinks`, p, 'outside');
  try {
    return await realpath(p);
  } catch (error) {
    if (!isErrno(error, 'ENOENT', 'ENOTDIR')) throw error;
  }
  const stat = await lstat(p).catch(() => undefined);
  if (stat?.isSymbolicLink()) {
    const target = await readlink(p);
    return realpathLoose(path.resolve(path.dirname(p), target), hops + 1);
  }
  const parent = path.dirname(p);
  if (parent === p) return p;
  return path.join(await realpathLoose(parent, hops), path.basename(p));
}

function escapes(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

function inside(root: string, p: string): boolean {
  return !escapes(path.relative(root, p));
}

function toPosix(rel: string): string {
  return rel.split(path.sep).join('/');
}

/** Relative paths are taken from the worktree's root; absolute paths are allowed when inside it. */
export async function resolveInWorktree(
  worktree: string,
  p: string,
  intent: 'read' | 'write',
  protectedGlobs: readonly string[] = [],
): Promise<string> {
  const root = await realpath(worktree);
  const requested = path.resolve(worktree, p);
  const resolved = await realpathLoose(requested);
  if (!inside(root, resolved)) {
    throw new PathRefusedError(
      `refused: ${p} resolves outside the worktree; use a path inside it (relative paths start at its root)`,
      p,
      'outside',
    );
  }
  if (intent === 'read') return resolved;

  // Both the name as given and the real location are checked: a symlink inside the worktree
  // must not become a way around a protected path, and neither may a differently spelled name.
  const lexical = path.relative(path.resolve(worktree), requested);
  const candidates = [toPosix(path.relative(root, resolved))];
  if (!escapes(lexical)) candidates.push(toPosix(lexical));

  if (candidates.some((rel) => rel.split('/')[0]?.toLowerCase() === '.git')) {
    throw new PathRefusedError(
      `refused: ${p} is inside .git; the repository's metadata may not be written (the run's commits are made for you)`,
      p,
      'git',
    );
  }
  for (const glob of protectedGlobs) {
    const matches = picomatch(glob, { dot: true });
    if (candidates.some((rel) => matches(rel))) {
      throw new PathRefusedError(
        `refused: ${p} belongs to a grader (protected by "${glob}") and may not be changed; change the code it checks instead`,
        p,
        'protected',
      );
    }
  }
  return resolved;
}
