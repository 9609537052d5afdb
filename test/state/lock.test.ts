import { access, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lockStateDir, StateLockCompromisedError, StateLockedError } from '../../src/state/lock.js';
import type { StateLock } from '../../src/state/lock.js';
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

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('lockStateDir', () => {
  it('creates the state folder, the lock and a pid file naming this process', async () => {
    const root = path.join(tmp.path, 'state');
    await take(root);
    expect((await stat(path.join(root, '.lock'))).isDirectory()).toBe(true);
    expect(await readFile(path.join(root, '.lock.pid'), 'utf8')).toBe(`${process.pid}\n`);
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
    expect(await exists(path.join(root, '.lock.pid'))).toBe(false);
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

  it('says when the holder is gone, and takes over its lock once stale', async () => {
    const root = path.join(tmp.path, 'state');
    const { proc, first } = await child(root);
    expect(first).toBe(`locked ${proc.pid}`);
    proc.kill('SIGKILL');
    await proc;

    await expect(lockStateDir(root, { staleMs: 2000 })).rejects.toThrow(
      `a loops (pid ${proc.pid}) that is no longer running left its lock`,
    );
    // The dead holder no longer refreshes the lock's mtime, so it goes stale and can be taken.
    const lock = await vi.waitFor(() => take(root, { staleMs: 2000 }), { timeout: 10_000, interval: 250 });
    expect(lock).toBeDefined();
    expect(await readFile(path.join(root, '.lock.pid'), 'utf8')).toBe(`${process.pid}\n`);
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
});
