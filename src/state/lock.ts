/**
 * One writer per state folder, across processes. The index rewrites and our JSONL appends are only safe with
 * a single writing process, so a second `loops` on the same repo must attach to it, not interleave.
 *
 * proper-lockfile does the locking (an atomic mkdir of `<root>/.lock`, kept fresh by touching its mtime,
 * taken over once stale). It records nothing about the holder, so the holder writes
 * `<root>/.lock/owner.json`: host, pid, the process's start time and the boot it started in. A lock
 * whose owner is on this host and provably gone (no such pid, or a pid since reused by a process that
 * started at another time, or an earlier boot) is taken over at once instead of after the stale
 * timeout; a lock of another host sharing the folder is never taken over that way.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { mkdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from './atomic.js';
import { errnoCode } from './errno.js';

export const STATE_LOCK_STALE_MS = 30_000;

export class StateLockedError extends Error {
  readonly holderPid: number | undefined;

  constructor(
    readonly stateRoot: string,
    readonly holder?: LockHolder,
    staleMs = STATE_LOCK_STALE_MS,
  ) {
    super(lockedMessage(stateRoot, holder, staleMs));
    this.name = 'StateLockedError';
    this.holderPid = holder?.pid;
  }
}

/** The lock was lost while held (its folder removed, or not refreshed in time): another writer may now exist. */
export class StateLockCompromisedError extends Error {
  constructor(
    readonly stateRoot: string,
    options: { cause: unknown },
  ) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `lost the lock on state/ in ${path.dirname(stateRoot)} (${why}); another loops may now write there: ` +
        'stop this one, check that only one loops runs in this repo, then start again',
      options,
    );
    this.name = 'StateLockCompromisedError';
  }
}

export interface StateLock {
  release(): Promise<void>;
}

export interface StateLockOptions {
  /** Defaults to STATE_LOCK_STALE_MS; proper-lockfile's floor is 2 s. */
  staleMs?: number;
  /**
   * Called if the lock is lost while held, so the caller can stop its runs. Without a handler the
   * error is thrown from a timer, which ends the process with that message: better loud than two writers.
   */
  onCompromised?: (error: StateLockCompromisedError) => void;
}

/** Who holds a lock: enough to tell, on the same host, whether that process still exists. */
export interface LockHolder {
  host: string;
  pid: number;
  /** Linux: the process's start time in clock ticks since boot (/proc/PID/stat field 22). */
  start?: string;
  /** Linux: /proc/sys/kernel/random/boot_id, so a pid from before a reboot is never taken for alive. */
  boot?: string;
}

/** A takeover in progress: only one process may check-and-remove a dead owner's lock at a time. */
const TAKEOVER_DIR = '.lock.takeover';
/** A takeover marker older than this was left by a process that died mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * proper-lockfile removes its lock with rmdir, which fails once owner.json is inside: removing the
 * folder with what is in it keeps release, exit and stale takeover working.
 */
const lockFs = {
  ...fs,
  rmdir: (p: string, callback: (error: NodeJS.ErrnoException | null) => void): void => {
    fs.rm(p, { recursive: true, force: true }, callback);
  },
  rmdirSync: (p: string): void => {
    fs.rmSync(p, { recursive: true, force: true });
  },
};

export async function lockStateDir(stateRoot: string, options: StateLockOptions = {}): Promise<StateLock> {
  const root = path.resolve(stateRoot);
  const lockPath = path.join(root, '.lock');
  await mkdir(root, { recursive: true });

  const staleMs = options.staleMs ?? STATE_LOCK_STALE_MS;
  let compromised = false;
  let releaseLock: () => Promise<void>;
  const endTakeover = await takeOverDeadOwner(root);
  try {
    try {
      releaseLock = await lockfile.lock(root, {
        lockfilePath: lockPath,
        stale: staleMs,
        retries: 0,
        fs: lockFs,
        onCompromised: (cause) => {
          compromised = true;
          const error = new StateLockCompromisedError(root, { cause });
          if (options.onCompromised) options.onCompromised(error);
          else throw error;
        },
      });
    } catch (error) {
      if (errnoCode(error) === 'ELOCKED') throw new StateLockedError(root, await readHolder(root), staleMs);
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot lock state/ in ${path.dirname(root)}: ${why}`, { cause: error });
    }
    try {
      // proper-lockfile keeps the lock alive by touching the folder and checks on each touch that its
      // mtime is still the one it set: writing the owner file changes it, so it is put back.
      const lockDir = path.join(root, '.lock');
      const set = await stat(lockDir);
      await writeFileAtomic(ownerPath(root), `${JSON.stringify(thisHolder())}\n`);
      await utimes(lockDir, set.atime, set.mtime);
    } catch (error) {
      await releaseLock();
      throw error;
    }
  } finally {
    await endTakeover?.();
  }

  let released: Promise<void> | undefined;
  return {
    release(): Promise<void> {
      released ??= (async () => {
        if (compromised) return;
        await releaseLock();
      })();
      return released;
    },
  };
}

function ownerPath(root: string): string {
  return path.join(root, '.lock', 'owner.json');
}

/** The holder recorded in the lock, if there is a lock and it names one. */
export async function readHolder(stateRoot: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await readFile(ownerPath(path.resolve(stateRoot)), 'utf8');
  } catch {
    // The holder writes it just after taking the lock; a moment earlier there is none to read.
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.host !== 'string' || !Number.isInteger(value.pid) || (value.pid ?? 0) <= 0) return undefined;
    return {
      host: value.host,
      pid: value.pid as number,
      ...(typeof value.start === 'string' ? { start: value.start } : {}),
      ...(typeof value.boot === 'string' ? { boot: value.boot } : {}),
    };
  } catch {
    return undefined;
  }
}

/** This process, as a lock holder. */
export function thisHolder(): LockHolder {
  const start = processStartTime(process.pid);
  const boot = bootId();
  return {
    host: os.hostname(),
    pid: process.pid,
    ...(start === undefined ? {} : { start }),
    ...(boot === undefined ? {} : { boot }),
  };
}

/**
 * `dead` only when provably gone: same host, and an earlier boot, no such pid, or the pid now
 * belongs to a process that started at another time. Another host's holder is `unknown`, never dead.
 */
export function holderState(holder: LockHolder): 'alive' | 'dead' | 'unknown' {
  if (holder.host !== os.hostname()) return 'unknown';
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return 'dead';
  if (!isRunning(holder.pid)) return 'dead';
  if (holder.start !== undefined) {
    const start = processStartTime(holder.pid);
    if (start !== undefined && start !== holder.start) return 'dead';
  }
  return 'alive';
}

/** Whether a live loops holds this state folder (`unknown`: held from another host, or just being taken). */
export async function stateLockState(stateRoot: string): Promise<'none' | 'alive' | 'dead' | 'unknown'> {
  const root = path.resolve(stateRoot);
  const exists = await stat(path.join(root, '.lock')).then(
    () => true,
    () => false,
  );
  if (!exists) return 'none';
  const holder = await readHolder(root);
  return holder ? holderState(holder) : 'unknown';
}

/** /proc/PID/stat field 22, the start time in clock ticks since boot; undefined off Linux or if gone. */
export function processStartTime(pid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3, so field 22 is rest[19].
  return rest[19];
}

let cachedBoot: string | null | undefined;
function bootId(): string | undefined {
  if (cachedBoot === undefined) {
    try {
      cachedBoot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBoot = null;
    }
  }
  return cachedBoot ?? undefined;
}

/**
 * Removes the lock of a holder that is provably dead, so the mkdir that follows takes it at once.
 * Returns the function that ends the takeover (called once our own owner file is written), or
 * undefined when there was nothing to take over (or another process is taking it over right now).
 */
async function takeOverDeadOwner(root: string): Promise<(() => Promise<void>) | undefined> {
  const first = await readHolder(root);
  if (!first || holderState(first) !== 'dead') return undefined;
  const marker = path.join(root, TAKEOVER_DIR);
  try {
    await mkdir(marker);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') return undefined;
    const age = await stat(marker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age < TAKEOVER_STALE_MS) return undefined;
    await rm(marker, { recursive: true, force: true });
    try {
      await mkdir(marker);
    } catch {
      return undefined;
    }
  }
  const end = async (): Promise<void> => {
    await rm(marker, { recursive: true, force: true });
  };
  // Checked again inside the marker: another process may have taken the lock since the first read.
  const again = await readHolder(root);
  if (again && holderState(again) === 'dead' && again.pid === first.pid && again.start === first.start) {
    await rm(path.join(root, '.lock'), { recursive: true, force: true });
  }
  return end;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(error) === 'EPERM';
  }
}

function lockedMessage(root: string, holder: LockHolder | undefined, staleMs: number): string {
  const dir = path.dirname(root);
  if (holder === undefined) return `another loops is using state/ in ${dir}; stop it first, or wait`;
  const pid = holder.pid;
  if (holder.host !== os.hostname()) {
    return (
      `a loops on another host (${holder.host}, pid ${pid}) is using state/ in ${dir}; stop it there, ` +
      `or, if it is gone, its lock goes stale within ${Math.ceil(staleMs / 1000)} s`
    );
  }
  if (pid === process.pid) return `this loops (pid ${pid}) is already using state/ in ${dir}; open it only once`;
  if (holderState(holder) === 'dead') {
    return (
      `a loops (pid ${pid}) that is no longer running left its lock on state/ in ${dir}, and another ` +
      'loops is taking it over right now; start again in a moment'
    );
  }
  return `another loops (pid ${pid}) is using state/ in ${dir}; stop it first, or wait`;
}
