import path from 'node:path';

/** A path relative to the repository root, with forward slashes whatever the platform. */
export function repoRelative(repoRoot: string, absolute: string): string {
  return path.relative(repoRoot, absolute).split(path.sep).join('/');
}

/**
 * Why `relative` (resolved against `baseDir`) would leave the repository, or undefined when it stays
 * inside. Graders and the agent run in a worktree of the repo, so a path outside it means nothing there.
 */
export function escapesRepo(repoRoot: string, baseDir: string, relative: string): string | undefined {
  if (path.isAbsolute(relative) || path.win32.isAbsolute(relative)) {
    return `must be a path inside the repository, not an absolute path: "${relative}"`;
  }
  const fromRoot = path.relative(repoRoot, path.resolve(baseDir, relative));
  if (fromRoot === '..' || fromRoot.startsWith(`..${path.sep}`) || path.isAbsolute(fromRoot)) {
    return `"${relative}" points outside the repository; use a path inside it`;
  }
  return undefined;
}
