/** The bare git spawner: output, input, and each way git can fail to give an answer. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCollect } from '../../src/workspace/git-spawn.js';
import { git } from '../../src/workspace/git.js';
import { WorkspaceError } from '../../src/workspace/errors.js';

let dir: string;
const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loops-git-spawn-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('spawnCollect', () => {
  it('returns exit code, stdout bytes and stderr text', async () => {
    const ok = await spawnCollect(['--version'], { cwd: dir, env: env(), maxBuffer: 1 << 20 });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.toString('utf8')).toMatch(/^git version /);
    const bad = await spawnCollect(['no-such-command'], { cwd: dir, env: env(), maxBuffer: 1 << 20 });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('no-such-command');
  });

  it('feeds stdin, and survives git exiting before reading it', async () => {
    const hashed = await spawnCollect(['hash-object', '--stdin'], {
      cwd: dir,
      env: env(),
      input: 'hello\n',
      maxBuffer: 1 << 20,
    });
    expect(hashed.stdout.toString('utf8').trim()).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    const early = await spawnCollect(['--version'], {
      cwd: dir,
      env: env(),
      input: Buffer.alloc(8 << 20, 0x61),
      maxBuffer: 1 << 20,
    });
    expect(early.exitCode).toBe(0);
  });

  it('ends a process whose output passes maxBuffer, saying so', async () => {
    const r = await spawnCollect(['hash-object', '--stdin'], {
      cwd: dir,
      env: env(),
      input: 'x',
      maxBuffer: 10,
    });
    expect(r.exitCode).toBeUndefined();
    expect(r.failure).toMatch(/exceeded 10 bytes/);
  });

  it('tells a missing git from a missing working directory', async () => {
    const noGit = await spawnCollect(['--version'], { cwd: dir, env: { PATH: dir }, maxBuffer: 1 << 20 });
    expect(noGit.exitCode).toBeUndefined();
    expect(noGit.failure).toMatch(/git not found/);
    const noDir = await spawnCollect(['--version'], {
      cwd: join(dir, 'gone'),
      env: env(),
      maxBuffer: 1 << 20,
    });
    expect(noDir.failure).toMatch(/cwd does not exist/);
  });
});

describe('git() errors', () => {
  it('is a WorkspaceError naming the folder when it does not exist', async () => {
    const err = await git(join(dir, 'gone'), ['status']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkspaceError);
    expect((err as Error).message).toMatch(/could not run git in .*gone/);
  });
});
