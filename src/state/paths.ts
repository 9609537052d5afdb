/**
 * Where everything under `state/` lives (PRODUCT.md, "Files"). Every other module asks here, so the
 * layout is decided in one place.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { isNotFound } from './errno.js';

export interface StatePaths {
  /** `<repo>/state` */
  root: string;
  /** `state/loops.json`, the index of runs */
  index: string;
  loopDir(name: string): string;
  memory(name: string): string;
  runsDir(name: string): string;
  runSummary(name: string, run: string): string;
  /** The loop's MEMORY.md as the run started with it (hill-climbing replays a task from it). */
  memoryAtStart(name: string, run: string): string;
  tracesDir(name: string): string;
  trace(name: string, run: string): string;
  /** `state/<loop>/spend`: one `<run>.jsonl` per run, and the loop's rolled-up `totals.json`. */
  spendDir(name: string): string;
  spendFile(name: string, run: string): string;
  spendTotals(name: string): string;
}

/** A loop or run name that would escape its folder or make an awkward file name. */
export class StatePathError extends Error {
  constructor(
    readonly kind: 'loop' | 'run',
    readonly value: string,
  ) {
    super(
      kind === 'loop'
        ? `invalid loop name ${JSON.stringify(value)} for state/: use lowercase letters, digits and single hyphens, like fix-tests`
        : `invalid run id ${JSON.stringify(value)} for state/: use letters, digits, '-', '_' and '.', not starting with '.'`,
    );
    this.name = 'StatePathError';
  }
}

// Same rule as the LOOP.md `name` field.
const LOOP_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function loopName(name: string): string {
  if (!LOOP_NAME.test(name) || name.length > 64) throw new StatePathError('loop', name);
  return name;
}

/** Whether `name` can be a loop's folder name (for reading what is on disk without throwing). */
export function isLoopName(name: string): boolean {
  return LOOP_NAME.test(name) && name.length <= 64;
}

export function isRunId(run: string): boolean {
  return RUN_ID.test(run) && run.length <= 128;
}

function runId(run: string): string {
  if (!RUN_ID.test(run) || run.length > 128) throw new StatePathError('run', run);
  return run;
}

export function statePaths(repoRoot: string): StatePaths {
  const root = path.join(path.resolve(repoRoot), 'state');
  const loopDir = (name: string): string => path.join(root, loopName(name));
  const runsDir = (name: string): string => path.join(loopDir(name), 'runs');
  const tracesDir = (name: string): string => path.join(loopDir(name), 'traces');
  return {
    root,
    index: path.join(root, 'loops.json'),
    loopDir,
    memory: (name) => path.join(loopDir(name), 'MEMORY.md'),
    runsDir,
    runSummary: (name, run) => path.join(runsDir(name), `${runId(run)}.md`),
    memoryAtStart: (name, run) => path.join(runsDir(name), `${runId(run)}.memory.md`),
    tracesDir,
    trace: (name, run) => path.join(tracesDir(name), `${runId(run)}.jsonl`),
    spendDir: (name) => path.join(loopDir(name), 'spend'),
    spendFile: (name, run) => path.join(loopDir(name), 'spend', `${runId(run)}.jsonl`),
    spendTotals: (name) => path.join(loopDir(name), 'spend', 'totals.json'),
  };
}

const issuedThisSecond = { stamp: '', suffixes: new Set<string>() };

/**
 * `20261124-071502-a3f9`: UTC time to the second (so ids sort by start time, across time zones and
 * DST), then 4 random hex digits. Unique within this process; across processes a clash needs the same
 * loop started twice in one second with the same 1-in-65536 suffix.
 */
export function newRunId(now: Date = new Date()): string {
  const iso = now.toISOString(); // 2026-11-24T07:15:02.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  if (issuedThisSecond.stamp !== stamp) {
    issuedThisSecond.stamp = stamp;
    issuedThisSecond.suffixes.clear();
  }
  let suffix = randomBytes(2).toString('hex');
  while (issuedThisSecond.suffixes.has(suffix)) suffix = randomBytes(2).toString('hex');
  issuedThisSecond.suffixes.add(suffix);
  return `${stamp}-${suffix}`;
}

/** Scratch that must never be committed with the rest of state/: the lock and temp files of atomic writes. */
export const STATE_GITIGNORE_LINES = [
  '.lock',
  '.lock.pid',
  '.lock.takeover',
  '*.tmp',
  // The owner's socket and the note saying it serves (daemon/socket-path.ts).
  'loops.sock',
  'owner-socket.json',
] as const;

/** Adds the scratch patterns to `<root>/.gitignore`, keeping whatever a person put there. */
export async function ensureStateGitignore(root: string): Promise<void> {
  const file = path.join(root, '.gitignore');
  let current = '';
  try {
    current = await readFile(file, 'utf8');
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const present = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  const missing = STATE_GITIGNORE_LINES.filter((line) => !present.has(line));
  if (missing.length === 0) return;
  const head = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  await writeFileAtomic(file, `${head}${missing.join('\n')}\n`);
}
