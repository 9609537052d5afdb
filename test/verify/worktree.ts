/** A real repository with one run worktree, for graders that diff or reset. */
import { Worktrees, type Worktree } from '../../src/workspace/worktrees.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

export interface RepoWithWorktree {
  repo: TestRepo;
  worktrees: Worktrees;
  tree: Worktree;
}

export async function repoWithWorktree(loop = 'test-loop', run = 'r1'): Promise<RepoWithWorktree> {
  const repo = await makeRepo();
  const worktrees = await Worktrees.open(repo.dir);
  const tree = await worktrees.create({ loop, run, base: 'HEAD' });
  return { repo, worktrees, tree };
}
