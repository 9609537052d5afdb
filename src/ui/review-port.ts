/**
 * What the screen may ask of git about a finished run, as a port: the UI never imports workspace/
 * (the lint forbids it); `loops` wires this to workspace/review.ts, tests give a fake.
 */
import type { LoopView } from './state.js';

export interface RunRef {
  loop: string;
  run: string;
  branch: string;
  worktree?: string;
  base?: string;
  baseBranch?: string;
  baseSha?: string;
}

export type ReviewReply =
  { ok: true; message: string } | { ok: false; message: string; conflicts?: string[] };

export interface ReviewDiff {
  lines: string[];
  files: Array<{ path: string; line: number }>;
  stat: string;
}

export interface ReviewPort {
  diff(ref: RunRef): Promise<ReviewDiff>;
  merge(ref: RunRef): Promise<ReviewReply>;
  /** What a discard would lose: unmerged commits and uncommitted changes. */
  discardCost(ref: RunRef): Promise<{ commits: number; dirty: number; merged: boolean }>;
  discard(ref: RunRef): Promise<ReviewReply>;
}

/** The run a review acts on: the loop's latest, once it has ended. */
export function finishedRun(view: LoopView | undefined): RunRef | undefined {
  if (view === undefined || view.run === undefined || view.branch === undefined) return undefined;
  if (
    view.status === 'idle' ||
    view.status === 'running' ||
    view.status === 'paused' ||
    view.status === 'stopping'
  ) {
    return undefined;
  }
  return {
    loop: view.info.name,
    run: view.run,
    branch: view.branch,
    ...(view.worktree === undefined ? {} : { worktree: view.worktree }),
    ...(view.base === undefined ? {} : { base: view.base }),
    ...(view.baseBranch === undefined ? {} : { baseBranch: view.baseBranch }),
    ...(view.baseSha === undefined ? {} : { baseSha: view.baseSha }),
  };
}
