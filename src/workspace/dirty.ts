/**
 * A run reads its LOOP.md (task and settings) from the checkout, but its worktree starts from a
 * commit: uncommitted changes are in the first and missing from the second. The agent and the graders
 * then work without them, or follow a LOOP.md that says something the worktree does not have. This
 * finds which of the loop's own files (its folder, its rubrics, its graders' protected files and
 * scripts) are uncommitted, and how many other files are, so the run can say so before it starts.
 */
import path from 'node:path';
import type { LoopDefinition } from '../core/definition/schema.js';
import { git } from './git.js';

export interface DirtyCheckout {
  /** The loop's own files with uncommitted changes, repo-relative. */
  loopFiles: string[];
  /** How many other files have uncommitted changes. */
  otherFiles: number;
}

/**
 * undefined when the checkout is clean (or git cannot tell: this is a warning, never a failure).
 * `ignore` lists repo-relative folders loops itself writes to (its state folder), left out.
 */
export async function dirtyCheckout(
  repoRoot: string,
  def: LoopDefinition,
  ignore: readonly string[] = [],
): Promise<DirtyCheckout | undefined> {
  const status = await git(repoRoot, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  if (status.exitCode !== 0) return undefined;
  const changed = parseStatus(status.stdout).filter(
    (file) =>
      !file.startsWith('.loops/') && !ignore.some((dir) => file === dir || file.startsWith(`${dir}/`)),
  );
  if (changed.length === 0) return undefined;
  const own = ownFiles(repoRoot, def);
  const loopFiles = changed.filter((file) => own.isOwn(file)).sort();
  return { loopFiles, otherFiles: changed.length - loopFiles.length };
}

/** What a run warns with: the files by name, the rest by number. */
export function describeDirty(dirty: DirtyCheckout): string {
  const others = dirty.otherFiles === 0 ? '' : `${dirty.otherFiles} other file(s)`;
  const own = dirty.loopFiles.length === 0 ? '' : `this loop's ${dirty.loopFiles.join(', ')}`;
  const what = [own, others].filter(Boolean).join(' and ');
  const loopNote =
    dirty.loopFiles.length === 0
      ? ''
      : ' The run follows the loop files as they are in your checkout, but graders and the agent see the committed versions.';
  return `uncommitted changes in the checkout: ${what}. The run's worktree starts from a commit and does not have them.${loopNote} Commit them to include them.`;
}

/** `git status -z` entries: "XY path", and for renames a second path (the old one) that is skipped. */
function parseStatus(out: string): string[] {
  const parts = out.split('\0');
  const files: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const entry = parts[i] ?? '';
    if (entry.length < 4) continue;
    const code = entry.slice(0, 2);
    files.push(entry.slice(3));
    if (code.includes('R') || code.includes('C')) i++;
  }
  return files;
}

function ownFiles(repoRoot: string, def: LoopDefinition): { isOwn(file: string): boolean } {
  const rel = (absolute: string): string => path.relative(repoRoot, absolute).split(path.sep).join('/');
  const loopDir = rel(def.dir);
  const exact = new Set<string>();
  const words = new Set<string>();
  for (const grader of def.verify) {
    for (const file of grader.protect) exact.add(path.posix.normalize(file));
    if ('rubric' in grader) exact.add(rel(path.resolve(def.dir, grader.rubric)));
    const command = 'command' in grader ? grader.command : 'metric' in grader ? grader.metric.command : '';
    // A grader's script is named in its command: "node scripts/check.mjs", "./bench.sh --fast".
    for (const word of command.split(/[\s'"=;&|<>()]+/)) {
      if (word !== '' && !word.startsWith('-')) words.add(path.posix.normalize(word));
    }
  }
  return {
    isOwn: (file) => file === loopDir || file.startsWith(`${loopDir}/`) || exact.has(file) || words.has(file),
  };
}
