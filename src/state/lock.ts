/**
 * One writer per state folder, across processes. lowdb/steno and our JSONL appends are only safe with
 * a single writing process, so a second `loops` on the same repo must be refused, not interleaved.
 *
 * proper-lockfile does the locking (an atomic mkdir of `<root>/.lock`, kept fresh by touching its mtime,
 * taken over once stale). It records nothing about the holder, so the holder's pid goes in
 * `<root>/.lock.pid`, written after the lock is ours and removed before it is released.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from './atomic.js';
import { errnoCode } from './errno.js';

/** A lock not refreshed for this long belongs to a process that died; the next `loops` takes it over. */
export const STATE_LOCK_STALE_MS = 30_000;

export class StateLockedError extends Error {
  constructor(
    readonly stateRoot: string,
    readonly holderPid?: number,
    staleMs = STATE_LOCK_STALE_MS,
  ) {
    super(lockedMessage(stateRoot, holderPid, staleMs));
    this.name = 'StateLockedError';
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

export async function lockStateDir(stateRoot: string, options: StateLockOptions = {}): Promise<StateLock> {
  const root = path.resolve(stateRoot);
  const lockPath = path.join(root, '.lock');
  const pidPath = path.join(root, '.lock.pid');
  await mkdir(root, { recursive: true });

  const staleMs = options.staleMs ?? STATE_LOCK_STALE_MS;
  let compromised = false;
  let releaseLock: () => Promise<void>;
  try {
    releaseLock = await lockfile.lock(root, {
      lockfilePath: lockPath,
      stale: staleMs,
      retries: 0,
      onCompromised: (cause) => {
        compromised = true;
        process.removeListener('exit', removePidFileSync);
        const error = new StateLockCompromisedError(root, { cause });
        if (options.onCompromised) options.onCompromised(error);
        else throw error;
      },
    });
  } catch (error) {
    if (errnoCode(error) === 'ELOCKED') throw new StateLockedError(root, await readHolderPid(pidPath), staleMs);
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot lock state/ in ${path.dirname(root)}: ${why}`, { cause: error });
  }

  const ownPid = `${process.pid}\n`;
  function removePidFileSync(): void {
    try {
      if (readFileSync(pidPath, 'utf8') === ownPid) unlinkSync(pidPath);
    } catch {
      // Exiting anyway; a leftover pid file is harmless because it is read only while .lock is held.
    }
  }

  try {
    await writeFileAtomic(pidPath, ownPid);
  } catch (error) {
    await releaseLock();
    throw error;
  }
  // proper-lockfile removes .lock itself on exit (signal-exit); this keeps the pid file in step.
  process.once('exit', removePidFileSync);

  let released: Promise<void> | undefined;
  return {
    release(): Promise<void> {
      released ??= (async () => {
        process.removeListener('exit', removePidFileSync);
        // The pid file goes first: once .lock is gone, a new holder may already have written its own.
        if ((await readFile(pidPath, 'utf8').catch(() => '')) === ownPid) await rm(pidPath, { force: true });
        if (compromised) return;
        await releaseLock();
      })();
      return released;
    },
  };
}

async function readHolderPid(pidPath: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidPath, 'utf8');
  } catch {
    // The holder writes its pid just after taking the lock; a moment earlier there is none to read.
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
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

function lockedMessage(root: string, pid: number | undefined, staleMs: number): string {
  const dir = path.dirname(root);
  if (pid === undefined) return `another loops is using state/ in ${dir}; stop it first, or wait`;
  if (pid === process.pid) return `this loops (pid ${pid}) is already using state/ in ${dir}; open it only once`;
  if (!isRunning(pid)) {
    return (
      `a loops (pid ${pid}) that is no longer running left its lock on state/ in ${dir}; ` +
      `the lock goes stale within ${Math.ceil(staleMs / 1000)} s: wait, then start again`
    );
  }
  return `another loops (pid ${pid}) is using state/ in ${dir}; stop it first, or wait`;
}
