import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/state/atomic.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();
const fixture = fileURLToPath(new URL('./fixtures/write-atomic.ts', import.meta.url));

describe('writeFileAtomic', () => {
  it('creates missing folders and writes the content', async () => {
    const file = path.join(tmp.path, 'a', 'b', 'c.md');
    await writeFileAtomic(file, 'héllo\n');
    expect(await readFile(file, 'utf8')).toBe('héllo\n');
    expect(await readdir(path.dirname(file))).toEqual(['c.md']);
  });

  it('replaces an existing file and leaves no temp files', async () => {
    const file = path.join(tmp.path, 'x.json');
    for (let i = 0; i < 20; i++) await writeFileAtomic(file, `{"n":${i}}`);
    expect(await readFile(file, 'utf8')).toBe('{"n":19}');
    expect(await readdir(tmp.path)).toEqual(['x.json']);
  });

  it('gives parallel writers their own temp files: the result is one whole write', async () => {
    const file = path.join(tmp.path, 'race.txt');
    const contents = Array.from({ length: 16 }, (_, i) => String(i).repeat(50_000));
    await Promise.all(contents.map((c) => writeFileAtomic(file, c)));
    expect(contents).toContain(await readFile(file, 'utf8'));
    expect(await readdir(tmp.path)).toEqual(['race.txt']);
  });

  it('never shows a reader a partial file', async () => {
    const file = path.join(tmp.path, 'big.txt');
    const a = 'a'.repeat(1 << 20);
    const b = 'b'.repeat(1 << 20);
    await writeFileAtomic(file, a);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 15; i++) await writeFileAtomic(file, i % 2 === 0 ? b : a);
      writing = false;
    })();
    const seen = new Set<string>();
    while (writing) {
      const text = await readFile(file, 'utf8');
      seen.add(text === a ? 'a' : text === b ? 'b' : `partial ${text.length}`);
    }
    await writer;
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen].filter((s) => s.startsWith('partial'))).toEqual([]);
  });

  it('leaves the target unchanged and removes its temp file when the write fails midway', async () => {
    const file = path.join(tmp.path, 'MEMORY.md');
    await writeFile(file, 'old content\n');
    // A 16 KiB file-size limit makes the 1 MB write fail with EFBIG part-way through the temp file.
    const { stdout } = await execa(
      'bash',
      ['-c', 'ulimit -f 16 && exec node --import tsx "$0" "$1" "$2"', fixture, file, String(1_000_000)],
      { env: { TSX_DISABLE_CACHE: '1' } },
    );
    expect(stdout).toBe('failed EFBIG');
    expect(await readFile(file, 'utf8')).toBe('old content\n');
    expect(await readdir(tmp.path)).toEqual(['MEMORY.md']);
  });

  it('cleans up its temp file when the rename fails (the target is a folder)', async () => {
    const target = path.join(tmp.path, 'occupied');
    await mkdir(path.join(target, 'inside'), { recursive: true });
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(await readdir(tmp.path)).toEqual(['occupied']);
    expect(await readdir(target)).toEqual(['inside']);
  });

  it('rejects when the folder cannot be made (a parent is a file)', async () => {
    await writeFile(path.join(tmp.path, 'file'), 'x');
    await expect(writeFileAtomic(path.join(tmp.path, 'file', 'child.md'), 'data')).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(await readFile(path.join(tmp.path, 'file'), 'utf8')).toBe('x');
  });
});
