/**
 * The file tools attacked the way an agent with a shell would: every test fails if a read returns
 * what lies outside the worktree, or a write lands there.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOOL_NAMES } from '../../src/core/definition/schema.js';
import { readChecked } from '../../src/tools/confined-io.js';
import { PathRefusedError } from '../../src/tools/paths.js';
import { MAX_TEXT_BYTES } from '../../src/tools/text-files.js';
import { createToolbox, executeTool } from '../../src/tools/toolbox.js';
import type { ToolContext, ToolResult } from '../../src/tools/types.js';
import { tempDir } from './temp-dir.js';

let root: string;
let worktree: string;
let outside: string;
let cleanup: () => Promise<void>;
let ctx: ToolContext;
const tools = createToolbox(TOOL_NAMES);
const SECRET = 'SECRET outside the worktree\n';

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('escape'));
  worktree = path.join(root, 'wt');
  outside = path.join(root, 'outside');
  await mkdir(path.join(worktree, 'd'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), SECRET);
  await writeFile(path.join(outside, 'f.txt'), SECRET);
  await writeFile(path.join(worktree, 'd', 'f.txt'), 'inside\n');
  ctx = { worktree, runTimeoutMs: 20_000, outputCap: 10_000, protectedPaths: ['test/**'] };
});
afterEach(async () => {
  await stopSwapping();
  await cleanup();
});

function call(name: string, input: unknown, context: ToolContext = ctx): Promise<ToolResult> {
  return executeTool(tools, { id: 'c1', name, input }, context);
}

/** Outside is exactly as the test set it up: nothing created, nothing changed. */
async function expectOutsideUntouched(): Promise<void> {
  expect((await readdir(outside)).sort()).toEqual(['f.txt', 'secret.txt']);
  expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe(SECRET);
  expect(await readFile(path.join(outside, 'f.txt'), 'utf8')).toBe(SECRET);
}

describe('.. and absolute paths', () => {
  it('read_file, write_file and edit_file refuse .. out of the worktree', async () => {
    const read = await call('read_file', { path: '../outside/secret.txt' });
    expect(read.ok).toBe(false);
    expect(read.output).not.toContain('SECRET');
    expect((await call('write_file', { path: '../outside/planted.txt', content: 'x' })).ok).toBe(false);
    expect((await call('write_file', { path: 'd/../../outside/f.txt', content: 'x' })).ok).toBe(false);
    const edit = await call('edit_file', {
      path: '../outside/secret.txt',
      old_string: 'SECRET',
      new_string: 'x',
    });
    expect(edit.ok).toBe(false);
    await expectOutsideUntouched();
  });

  it('read_file, write_file, edit_file and search refuse absolute paths outside', async () => {
    const file = path.join(outside, 'secret.txt');
    expect((await call('read_file', { path: file })).output).not.toContain('SECRET');
    expect((await call('write_file', { path: path.join(outside, 'planted.txt'), content: 'x' })).ok).toBe(
      false,
    );
    expect((await call('edit_file', { path: file, old_string: 'SECRET', new_string: 'x' })).ok).toBe(false);
    expect((await call('search', { pattern: 'SECRET', path: outside })).output).not.toContain(
      'SECRET outside',
    );
    await expectOutsideUntouched();
  });
});

describe('symlinks made by a shell', () => {
  beforeEach(async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(worktree, 'file-link'));
    await symlink(outside, path.join(worktree, 'dir-link'));
    await symlink(path.join(outside, 'not-yet.txt'), path.join(worktree, 'dangling'));
  });

  it('read_file follows none of them out', async () => {
    for (const p of ['file-link', 'dir-link/secret.txt', 'dangling']) {
      const result = await call('read_file', { path: p });
      expect(result.ok, p).toBe(false);
      expect(result.output).not.toContain('SECRET');
    }
  });

  it('write_file writes through none of them', async () => {
    for (const p of ['file-link', 'dir-link/f.txt', 'dir-link/new.txt', 'dangling', 'dir-link/deep/x.txt']) {
      expect((await call('write_file', { path: p, content: 'planted' })).ok, p).toBe(false);
    }
    await expectOutsideUntouched();
  });

  it('edit_file edits through none of them', async () => {
    for (const p of ['file-link', 'dir-link/secret.txt']) {
      expect((await call('edit_file', { path: p, old_string: 'SECRET', new_string: 'x' })).ok, p).toBe(false);
    }
    await expectOutsideUntouched();
  });

  it('search and list_files neither list nor read through them', async () => {
    const found = await call('search', { pattern: 'SECRET' });
    expect(found.output).not.toContain('SECRET outside');
    expect((await call('search', { pattern: 'SECRET', path: 'dir-link' })).output).not.toContain(
      'SECRET outside',
    );
    expect((await call('search', { pattern: 'SECRET', path: 'file-link' })).output).not.toContain(
      'SECRET outside',
    );
    const listed = await call('list_files', {});
    expect(listed.output).not.toContain('secret.txt');
    expect((await call('list_files', { path: 'dir-link' })).ok).toBe(false);
  });

  it('a symlink to a device is refused like the device', async () => {
    await symlink('/dev/zero', path.join(worktree, 'zero'));
    expect((await call('read_file', { path: 'zero' })).ok).toBe(false);
    expect((await call('write_file', { path: 'zero', content: 'x' })).ok).toBe(false);
  });

  it('symlinks that stay inside keep working, and a write through one changes its target', async () => {
    await symlink('d/f.txt', path.join(worktree, 'inner-link'));
    await symlink('d', path.join(worktree, 'inner-dir'));
    expect(await call('read_file', { path: 'inner-link' })).toEqual({ ok: true, output: 'inside\n' });
    expect((await call('write_file', { path: 'inner-link', content: 'changed\n' })).ok).toBe(true);
    expect((await lstat(path.join(worktree, 'inner-link'))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(worktree, 'd', 'f.txt'), 'utf8')).toBe('changed\n');
    expect(
      (await call('edit_file', { path: 'inner-dir/f.txt', old_string: 'changed', new_string: 'edited' })).ok,
    ).toBe(true);
    expect(await readFile(path.join(worktree, 'd', 'f.txt'), 'utf8')).toBe('edited\n');
    expect((await call('write_file', { path: 'inner-dir/new/n.txt', content: 'n' })).ok).toBe(true);
    expect(await readFile(path.join(worktree, 'd', 'new', 'n.txt'), 'utf8')).toBe('n');
  });
});

let racer: ChildProcess | undefined;

/** A shell loop swapping the worktree's folder d for a symlink to outside and back, as fast as it can. */
function startSwapping(): void {
  const script = `cd "${worktree}" && while :; do mv d d.real && ln -s "${outside}" d && rm d && mv d.real d; done`;
  // Its own process group: a stop kills the loop and the mv or ln it is running at that moment, which
  // would otherwise go on writing into the folder being removed.
  racer = spawn('bash', ['-c', script], { stdio: 'ignore', detached: true });
}

/** Ends the swapping loop and waits until it is gone. */
async function stopSwapping(): Promise<void> {
  const child = racer;
  racer = undefined;
  if (!child?.pid) return;
  const exited = new Promise((resolve) => {
    child.once('exit', resolve);
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
  });
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  await exited;
}

describe('a symlink swapped between check and use', () => {
  it('60 write_file calls during the swapping land nothing outside', async () => {
    startSwapping();
    for (let i = 0; i < 60; i++) await call('write_file', { path: 'd/f.txt', content: `write ${i}\n` });
    for (let i = 0; i < 20; i++) await call('write_file', { path: `d/new${i}/x.txt`, content: 'x' });
    await stopSwapping();
    await expectOutsideUntouched();
  });

  it('60 edit_file calls during the swapping change nothing outside', async () => {
    startSwapping();
    for (let i = 0; i < 60; i++)
      await call('edit_file', { path: 'd/f.txt', old_string: 'SECRET', new_string: 'x' });
    await stopSwapping();
    await expectOutsideUntouched();
  });

  it('60 read_file and search calls during the swapping never show what is outside', async () => {
    startSwapping();
    for (let i = 0; i < 60; i++) {
      expect((await call('read_file', { path: 'd/f.txt' })).output).not.toContain('SECRET');
      expect((await call('search', { pattern: 'SECRET', path: 'd' })).output).not.toContain('SECRET outside');
    }
  });
});

describe('hard links to a file outside', () => {
  beforeEach(async () => {
    await link(path.join(outside, 'secret.txt'), path.join(worktree, 'linked.txt'));
  });

  it('write_file refuses a file with more than one link and leaves the other name alone', async () => {
    const result = await call('write_file', { path: 'linked.txt', content: 'planted' });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('hard links');
    await expectOutsideUntouched();
  });

  it('edit_file refuses it too', async () => {
    const result = await call('edit_file', {
      path: 'linked.txt',
      old_string: 'SECRET',
      new_string: 'planted',
    });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('hard links');
    await expectOutsideUntouched();
  });
});

describe('files that are not regular files', () => {
  it('a FIFO is an error for read_file, write_file and edit_file, never a hang, and search skips it', async () => {
    execFileSync('mkfifo', [path.join(worktree, 'pipe')]);
    const read = await call('read_file', { path: 'pipe' });
    expect(read.ok).toBe(false);
    expect(read.output).toContain('FIFO');
    expect((await call('write_file', { path: 'pipe', content: 'x' })).ok).toBe(false);
    expect((await call('edit_file', { path: 'pipe', old_string: 'a', new_string: 'b' })).ok).toBe(false);
    expect((await call('search', { pattern: 'inside' })).output).toContain('d/f.txt:1: inside');
    expect((await stat(path.join(worktree, 'pipe'))).isFIFO()).toBe(true);
  });

  it('/dev/zero and /dev/urandom are refused as targets, whatever the path, without growing memory', async () => {
    const before = process.memoryUsage().rss;
    for (const device of ['/dev/zero', '/dev/urandom']) {
      expect((await call('read_file', { path: device })).ok).toBe(false);
      // A worktree that holds the devices: the descriptor's own type is what refuses them.
      const atDev = { ...ctx, worktree: '/dev' };
      const result = await call('read_file', { path: path.basename(device) }, atDev);
      expect(result).toMatchObject({ ok: false });
      expect(result.output).toContain('character device');
      await expect(readChecked('/dev', device, device, MAX_TEXT_BYTES)).rejects.toBeInstanceOf(
        PathRefusedError,
      );
      expect((await call('write_file', { path: path.basename(device), content: 'x' }, atDev)).ok).toBe(false);
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a socket file is an error for reading and writing', async () => {
    const socketPath = path.join(worktree, 'sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const read = await call('read_file', { path: 'sock' });
      expect(read.ok).toBe(false);
      expect(read.output).toContain('socket');
      expect((await call('write_file', { path: 'sock', content: 'x' })).ok).toBe(false);
      expect((await lstat(socketPath)).isSocket()).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an oversized file is refused without being read', async () => {
    const big = path.join(worktree, 'big.txt');
    await writeFile(big, '');
    await truncate(big, MAX_TEXT_BYTES + 1);
    const before = process.memoryUsage().rss;
    const result = await call('read_file', { path: 'big.txt' });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('too large');
    expect((await call('edit_file', { path: 'big.txt', old_string: 'a', new_string: 'b' })).ok).toBe(false);
    expect(process.memoryUsage().rss - before).toBeLessThan(MAX_TEXT_BYTES);
  });
});

describe('writes that stay inside', () => {
  it('keep the file mode and leave no temporary file behind', async () => {
    const script = path.join(worktree, 'run.sh');
    await writeFile(script, 'echo 1\n');
    await chmod(script, 0o755);
    expect((await call('write_file', { path: 'run.sh', content: 'echo 2\n' })).output).toContain('overwrote');
    expect((await stat(script)).mode & 0o777).toBe(0o755);
    expect((await call('edit_file', { path: 'run.sh', old_string: '2', new_string: '3' })).ok).toBe(true);
    expect((await stat(script)).mode & 0o777).toBe(0o755);
    expect((await readdir(worktree)).sort()).toEqual(['d', 'run.sh']);
  });

  it('refuse to replace a directory and do not follow a symlinked .git or state folder', async () => {
    expect((await call('write_file', { path: 'd', content: 'x' })).ok).toBe(false);
    await symlink(path.join(worktree, 'd'), path.join(worktree, 'state'));
    expect((await call('write_file', { path: 'state/f.txt', content: 'x' })).ok).toBe(false);
    expect(await readlink(path.join(worktree, 'state'))).toBe(path.join(worktree, 'd'));
  });
});
