/** Commit trees read from loose objects: the same answer as git's, and none when the file lies. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { execa } from 'execa';
import { looseCommitTree } from '../../src/workspace/git-objects.js';

let dir: string;
const git = async (...args: string[]): Promise<string> =>
  (
    await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'gc.auto=0', ...args], {
      cwd: dir,
    })
  ).stdout;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loops-objects-'));
  await git('init', '-q');
  await writeFile(join(dir, 'a.txt'), 'a\n');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'one');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('looseCommitTree', () => {
  it("gives git's own answer for a fresh commit", async () => {
    const sha = await git('rev-parse', 'HEAD');
    expect(await looseCommitTree(join(dir, '.git'), sha)).toBe(await git('rev-parse', 'HEAD^{tree}'));
  });

  it('refuses a loose object whose content does not hash to its name', async () => {
    const sha = await git('rev-parse', 'HEAD');
    const file = join(dir, '.git', 'objects', sha.slice(0, 2), sha.slice(2));
    const other = '4b825dc642cb6eb9a060e54bf8d69288fbee4904'; // the empty tree
    const body = Buffer.from(`tree ${other}\nauthor x <x> 0 +0000\ncommitter x <x> 0 +0000\n\nplanted\n`);
    await chmod(file, 0o644);
    await writeFile(file, deflateSync(Buffer.concat([Buffer.from(`commit ${body.length}\0`), body])));
    expect(await looseCommitTree(join(dir, '.git'), sha)).toBeUndefined();
  });

  it('says nothing for a packed commit, a tree, garbage or a bad id (the caller asks git)', async () => {
    const sha = await git('rev-parse', 'HEAD');
    const tree = await git('rev-parse', 'HEAD^{tree}');
    expect(await looseCommitTree(join(dir, '.git'), tree)).toBeUndefined();
    expect(await looseCommitTree(join(dir, '.git'), '../../../etc/passwd')).toBeUndefined();
    await git('gc', '-q', '--prune=now');
    expect(await looseCommitTree(join(dir, '.git'), sha)).toBeUndefined();
  });
});
