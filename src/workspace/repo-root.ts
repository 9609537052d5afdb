/** The repository a command works on: the top level of the git checkout containing a directory. */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { WorkspaceError } from './errors.js';
import { git } from './git.js';

export async function findRepoRoot(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const isDir = await stat(abs).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new WorkspaceError(`not a git repository: ${abs} (the directory does not exist)`);
  const top = await git(abs, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0 || top.stdout.trim() === '') {
    throw new WorkspaceError(
      `not a git repository: ${abs} (run git init there and commit once, or start loops inside a git repository)`,
    );
  }
  return realpath(top.stdout.trim());
}
