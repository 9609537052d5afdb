import { access, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  holderState,
  lockStateDir,
  readHolder,
  StateLockCompromisedError,
  StateLockedError,
  thisHolder,
} from '../../src/state/lock.js';
import type { LockHolder, StateLock } from '../../src/state/lock.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();
const fixture = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url));

const held: StateLock[] = [];
const children: ResultPromise[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    await child.catch(() => undefined);
  }
  for (const lock of held.splice(0)) await lock.release();
});

async function take(root: string, options?: Parameters<typeof lockStateDir>[1]): Promise<StateLock> {
  const lock = await lockStateDir(root, options);
  held.push(lock);
  return lock;
}

/** Starts the fixture and waits for its first line (it keeps running while it holds the lock). */
async function child(root: string): Promise<{ proc: ResultPromise; first: string }> {
  const proc = execa('node', ['--import', 'tsx', fixture, root], { reject: false, stdin: 'pipe' });
  children.push(proc);
  let out = '';
  const first = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const end = out.indexOf('\n');
      if (end !== -1) resolve(out.slice(0, end));
    });
    void proc.then((result) => reject(new Error(`fixture exited without a line: ${String(result.stderr)}`)));
  });
  return { proc, first };
}

/** Rewrites the holder recorded in an existing lock (what another process, host or boot would have written). */
async function writeOwner(root: string, holder: LockHolder): Promise<void> {
  await writeFile(path.join(root, '.lock', 'owner.json'), JSON.stringify(holder));
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('lockStateDir', () => {
  it('creates the state folder and the lock, naming this process: host, pid, start time, boot', async () => {
    const root = path.join(tmp.path, 'state');
    await take(root);
    expect((await stat(path.join(root, '.lock'))).isDirectory()).toBe(true);
    const owner = await readHolder(root);
    expect(owner).toEqual(thisHolder());
    expect(owner).toMatchObject({ host: os.hostname(), pid: process.pid });
    // On Linux the start time is /proc/PID/stat field 22: a number of clock ticks.
    if (process.platform === 'linux') expect(owner?.start).toMatch(/^\d+$/);
  });

  it('refuses a second lock in the same process, naming the pid', async () => {
    const root = path.join(tmp.path, 'state');
    await take(root);
    const second = lockStateDir(root);
    await expect(second).rejects.toBeInstanceOf(StateLockedError);
    await expect(second).rejects.toMatchObject({ holderPid: process.pid });
    await expect(second).rejects.toThrow(`(pid ${process.pid})`);
  });

  it('can be taken again once released, and release removes the lock and pid file', async () => {
    const root = path.join(tmp.path, 'state');
    const first = await lockStateDir(root);
    await first.release();
    await first.release(); // twice is harmless
    expect(await exists(path.join(root, '.lock'))).toBe(false);
    await take(root);
    expect(await exists(path.join(root, '.lock'))).toBe(true);
  });

  it('refuses a lock held by another process, naming its pid and the repo', async () => {
    const root = path.join(tmp.path, 'state');
    const { proc, first } = await child(root);
    expect(first).toBe(`locked ${proc.pid}`);

    const attempt = lockStateDir(root);
    await expect(attempt).rejects.toBeInstanceOf(StateLockedError);
    await expect(attempt).rejects.toMatchObject({ holderPid: proc.pid });
    await expect(attempt).rejects.toThrow(
      `another loops (pid ${proc.pid}) is using state/ in ${tmp.path}; stop it first, or wait`,
    );

    proc.stdin?.end();
    const result = await proc;
    expect(result.stdout).toContain('released');
    await take(root);
  });

  it('makes another process fail while this one holds the lock', async () => {
    const root = path.join(tmp.path, 'state');
    await take(root);
    const { proc, first } = await child(root);
    expect(first).toMatch(new RegExp(`^busy ${process.pid} .*\\(pid ${process.pid}\\)`));
    expect((await proc).exitCode).toBe(3);
  });

  it('takes over at once the lock of a holder killed with SIGKILL', async () => {
    const root = path.join(tmp.path, 'state');
    const { proc, first } = await child(root);
    expect(first).toBe(`locked ${proc.pid}`);
    proc.kill('SIGKILL');
    await proc;
    expect(await exists(path.join(root, '.lock'))).toBe(true); // left behind, still fresh
    // No retries and a 30 s stale timeout: only the dead-owner takeover can make this succeed.
    await take(root);
    expect(await readHolder(root)).toEqual(thisHolder());
    expect(await exists(path.join(root, '.lock.takeover'))).toBe(false);
  });

  it('never takes a reused pid for a dead owner, and never a start time that differs for a live one', async () => {
    const root = path.join(tmp.path, 'state');
    const { proc, first } = await child(root);
    expect(first).toBe(`locked ${proc.pid}`);
    const real = await readHolder(root);
    expect(real?.pid).toBe(proc.pid);
    // The live holder as recorded: refused.
    await expect(lockStateDir(root)).rejects.toBeInstanceOf(StateLockedError);
    if (process.platform !== 'linux') return;
    // The same pid with another start time: the recorded owner is gone and its pid was reused, so the
    // lock is taken over although a process with that pid is alive.
    await writeOwner(root, { ...(real as LockHolder), start: String(Number(real?.start) + 1) });
    expect(holderState({ ...(real as LockHolder), start: String(Number(real?.start) + 1) })).toBe('dead');
    await take(root);
    expect((await readHolder(root))?.pid).toBe(process.pid);
  });

  it('never takes over the lock of a holder on another host, however dead its pid looks here', async () => {
    const root = path.join(tmp.path, 'state');
    const { proc, first } = await child(root);
    expect(first).toBe(`locked ${proc.pid}`);
    proc.kill('SIGKILL');
    await proc;
    const dead = (await readHolder(root)) as LockHolder;
    await writeOwner(root, { ...dead, host: `not-${os.hostname()}` });
    const attempt = lockStateDir(root);
    await expect(attempt).rejects.toBeInstanceOf(StateLockedError);
    await expect(attempt).rejects.toThrow(`a loops on another host (not-${os.hostname()}, pid ${dead.pid})`);
    expect(holderState({ ...dead, host: `not-${os.hostname()}` })).toBe('unknown');
    // The same record on this host is provably dead.
    expect(holderState(dead)).toBe('dead');
  });

  it('reports a lost lock to onCompromised instead of crashing', async () => {
    const root = path.join(tmp.path, 'state');
    const lost: StateLockCompromisedError[] = [];
    const lock = await take(root, { staleMs: 2000, onCompromised: (error) => lost.push(error) });
    await rm(path.join(root, '.lock'), { recursive: true });
    await vi.waitFor(() => expect(lost).toHaveLength(1), { timeout: 10_000 });
    expect(lost[0]).toBeInstanceOf(StateLockCompromisedError);
    expect(lost[0]?.message).toMatch(/^lost the lock on state\/ in .*another loops may now write there/);
    await expect(lock.release()).resolves.toBeUndefined();
  });

  it('stays held across its keep-alive touches: the owner file it writes does not read as a lost lock', async () => {
    const root = path.join(tmp.path, 'state');
    const lost: StateLockCompromisedError[] = [];
    // With a 2 s stale time the lock is touched every second; three touches must all find it intact.
    await take(root, { staleMs: 2000, onCompromised: (error) => lost.push(error) });
    const touched = (await stat(path.join(root, '.lock'))).mtimeMs;
    await vi.waitFor(
      async () => expect((await stat(path.join(root, '.lock'))).mtimeMs).toBeGreaterThan(touched + 2500),
      { timeout: 15_000, interval: 200 },
    );
    expect(lost).toEqual([]);
    expect(await readHolder(root)).toEqual(thisHolder());
  });
});
