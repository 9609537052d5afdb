/**
 * Confinement: every path the agent names must resolve inside its worktree, after following
 * symlinks, before anything is read or written. Paths are resolved to their real location, and
 * confined-io.ts checks again where the opened descriptor really is, so a path swapped between the
 * check and the open gains nothing. loops' own folders (state/, .loops/) are neither read
 * nor written: a worktree made from a commit that holds state/ carries earlier runs' traces and
 * summaries, holdout graders' findings among them.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

export type PathRefusal = 'outside' | 'git' | 'protected' | 'loops' | 'linked' | 'special' | 'changed';

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

/** What each of loops' own folders at the worktree's root is, as the refusal says it. */
const LOOPS_OWN: Readonly<Record<string, string>> = {
  state: "state/ is loops' own record and is not part of the task",
  '.loops': ".loops/ holds loops' own worktrees and is not part of the task",
};

/**
 * The loops folder a '/'-separated path from the worktree root lies in ('state', '.loops'), if any.
 * Compared without case, like .git, for case-insensitive file systems.
 */
export function loopsOwnFolder(rel: string): string | undefined {
  const first = rel.split('/')[0]?.toLowerCase() ?? '';
  return Object.hasOwn(LOOPS_OWN, first) ? first : undefined;
}

/**
 * What the path is for. 'restore' is loops itself putting a protected file back from the base
 * commit: still inside the worktree and outside .git, but loops' own folders and protected
 * files are what it restores.
 */
export type Intent = 'read' | 'write' | 'restore';

/** Relative paths are taken from the worktree's root; absolute paths are allowed when inside it. */
export async function resolveInWorktree(
  worktree: string,
  p: string,
  intent: Intent,
  protectedGlobs: readonly string[] = [],
): Promise<string> {
  const root = await realpath(worktree);
  const requested = path.resolve(worktree, p);
  const resolved = await realpathLoose(requested);
  // Both the name as given and the real location are checked: a symlink inside the worktree
  // must not become a way around a refused path, and neither may a differently spelled name.
  const lexical = path.relative(path.resolve(worktree), requested);
  checkPlace(root, resolved, p, intent, protectedGlobs, escapes(lexical) ? [] : [toPosix(lexical)]);
  return resolved;
}

/**
 * Throws a PathRefusedError unless `resolved` (a real, absolute location) may be read or written by
 * the agent: inside `root` (the worktree's real path), outside loops' own folders, and for writing
 * outside .git and the protected globs. `aliases` are other spellings of the same place (the name
 * as given) that are held to the same rules. Used once on the path and again on where an opened
 * descriptor really points.
 */
export function checkPlace(
  root: string,
  resolved: string,
  shown: string,
  intent: Intent,
  protectedGlobs: readonly string[] = [],
  aliases: readonly string[] = [],
): void {
  if (!inside(root, resolved)) {
    throw new PathRefusedError(
      `refused: ${shown} resolves outside the worktree; use a path inside it (relative paths start at its root)`,
      shown,
      'outside',
    );
  }
  const candidates = [toPosix(path.relative(root, resolved)), ...aliases];

  const own = candidates.map(loopsOwnFolder).find((folder) => folder !== undefined);
  if (own !== undefined && intent !== 'restore') {
    throw new PathRefusedError(`refused: ${shown}: ${LOOPS_OWN[own] ?? ''}`, shown, 'loops');
  }
  if (intent === 'read') return;

  if (candidates.some((rel) => rel.split('/')[0]?.toLowerCase() === '.git')) {
    throw new PathRefusedError(
      `refused: ${shown} is inside .git; the repository's metadata may not be written (the run's commits are made for you)`,
      shown,
      'git',
    );
  }
  for (const glob of intent === 'restore' ? [] : protectedGlobs) {
    const matches = picomatch(glob, { dot: true });
    if (candidates.some((rel) => matches(rel))) {
      throw new PathRefusedError(
        `refused: ${shown} belongs to a grader (protected by "${glob}") and may not be changed; change the code it checks instead`,
        shown,
        'protected',
      );
    }
  }
}
