/** A grade context for graders that need only a worktree (command graders); model calls are refused. */
import type { GradeContext } from '../../src/core/verify/grader.js';
import type { Worktrees } from '../../src/workspace/worktrees.js';

export function gradeContext(worktree: string, extra: Partial<GradeContext> = {}): GradeContext {
  return {
    worktree,
    baseSha: 'HEAD',
    loop: 'test-loop',
    run: 'run-1',
    iteration: 1,
    task: 'the task',
    transcript: [],
    callModel: () => Promise.reject(new Error('this grader was not expected to call a model')),
    worktrees: undefined as unknown as Worktrees,
    ...extra,
  };
}
