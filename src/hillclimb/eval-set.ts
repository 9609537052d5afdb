/**
 * `hillclimb.eval`: an eval set, the tasks a loop names to measure proposals on instead of its recent
 * failing runs. A text file (relative to the loop's folder) with one past run id per line; `#` starts
 * a comment, blank lines are skipped. Each run is a task as the index recorded it (its base commit
 * and trigger context), so it must be a finished run of the loop with a recorded base commit; two
 * runs of the same task count once. Anything else is refused with its line, never skipped.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoopDefinition } from '../core/definition/schema.js';
import type { RunRecord } from '../state/index-db.js';
import { isNotFound } from '../state/errno.js';
import { taskKey } from './evaluate.js';

export type EvalSet = { ok: true; tasks: RunRecord[] } | { ok: false; reason: string };

export async function readEvalSet(
  def: LoopDefinition,
  file: string,
  runs: readonly RunRecord[],
): Promise<EvalSet> {
  const normal = path.posix.normalize(file.split(path.sep).join('/'));
  if (path.isAbsolute(file) || normal === '..' || normal.startsWith('../'))
    return { ok: false, reason: `hillclimb.eval names ${file}: the eval set is a file in the loop's folder` };
  const where = path.join(def.dir, normal);
  const shown = `loops/${def.name}/${normal}`;
  let text: string;
  try {
    text = await readFile(where, 'utf8');
  } catch (error) {
    if (isNotFound(error))
      return { ok: false, reason: `the eval set ${shown} (hillclimb.eval) does not exist` };
    throw error;
  }
  const byId = new Map(runs.map((r) => [r.run, r]));
  const seen = new Set<string>();
  const tasks: RunRecord[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const id = raw.replace(/#.*$/, '').trim();
    if (id === '') continue;
    const at = `${shown}:${i + 1}`;
    const run = byId.get(id);
    if (run === undefined) return { ok: false, reason: `${at}: ${id} is not a run of ${def.name}` };
    if (run.status === 'running') return { ok: false, reason: `${at}: ${id} has not finished` };
    if (run.baseSha === undefined)
      return { ok: false, reason: `${at}: ${id} recorded no base commit, so its task cannot be replayed` };
    if (seen.has(taskKey(run))) continue;
    seen.add(taskKey(run));
    tasks.push(run);
  }
  if (tasks.length === 0) return { ok: false, reason: `the eval set ${shown} names no run` };
  return { ok: true, tasks };
}
