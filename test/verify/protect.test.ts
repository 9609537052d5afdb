import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandScripts, protectedPaths, shellWords } from '../../src/core/verify/protect.js';
import { resolveInWorktree } from '../../src/tools/paths.js';
import { tempDir } from '../tools/temp-dir.js';
import { testDefinition } from './context.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('protect'));
  await mkdir(path.join(dir, 'scripts'), { recursive: true });
  await mkdir(path.join(dir, 'test'), { recursive: true });
  for (const file of ['scripts/check.js', 'bench.py', 'vitest.config.ts', 'scripts/lint.sh']) {
    await writeFile(path.join(dir, file), '');
  }
});
afterEach(() => cleanup());

describe('shellWords', () => {
  it('splits on spaces and shell operators, removing quotes', () => {
    expect(shellWords(`node "scripts/my check.js" --x='a b' && echo ok|wc -l > out.txt`)).toEqual([
      'node',
      'scripts/my check.js',
      '--x=a b',
      'echo',
      'ok',
      'wc',
      '-l',
      'out.txt',
    ]);
  });
});

describe('commandScripts', () => {
  it('finds the files a command names: scripts, option values, relative paths', async () => {
    expect(await commandScripts('node scripts/check.js --strict', dir)).toEqual(['scripts/check.js']);
    expect(await commandScripts('python3 ./bench.py', dir)).toEqual(['bench.py']);
    expect(await commandScripts('npx vitest run --config=vitest.config.ts', dir)).toEqual([
      'vitest.config.ts',
    ]);
    expect(await commandScripts('sh scripts/lint.sh && node scripts/check.js', dir)).toEqual([
      'scripts/lint.sh',
      'scripts/check.js',
    ]);
  });

  it('finds nothing in a command that names no file of the repository', async () => {
    expect(await commandScripts('npm test', dir)).toEqual([]);
    expect(await commandScripts('node --test test/', dir)).toEqual([]); // a folder, not a script
    expect(await commandScripts('node ../outside.js /etc/passwd missing.js scripts/*.js', dir)).toEqual([]);
  });
});

describe('protectedPaths', () => {
  it('holds LOOP.md, RUBRIC.md, named rubrics, protect globs and the graders scripts', async () => {
    const def = testDefinition(
      { rubric: { path: 'loops/test-loop/RUBRIC.md', criteria: [{ name: 'a', text: 'a' }] } },
      {
        verify: [
          { command: 'node scripts/check.js', protect: ['test/**'] },
          { metric: { command: 'python3 bench.py', pattern: 'x=(\\d+)' } },
          { rubric: 'rubrics/STYLE.md' },
          { command: 'npm test' },
        ],
      },
    );
    expect((await protectedPaths(def, dir)).sort()).toEqual(
      [
        'loops/test-loop/LOOP.md',
        'loops/test-loop/RUBRIC.md',
        'test/**',
        'scripts/check.js',
        'bench.py',
        'loops/test-loop/rubrics/STYLE.md',
      ].sort(),
    );
  });

  it('makes the tool layer refuse writes to them and allow the rest', async () => {
    const def = testDefinition({}, { verify: [{ command: 'node scripts/check.js', protect: ['test/**'] }] });
    const globs = await protectedPaths(def, dir);
    for (const p of [
      'loops/test-loop/RUBRIC.md',
      'test/a.test.js',
      'scripts/check.js',
      './scripts/../scripts/check.js',
    ]) {
      await expect(resolveInWorktree(dir, p, 'write', globs)).rejects.toThrow(/belongs to a grader/);
    }
    await expect(resolveInWorktree(dir, 'src/cart.js', 'write', globs)).resolves.toBe(
      path.join(dir, 'src/cart.js'),
    );
    await expect(resolveInWorktree(dir, 'scripts/check.js', 'read', globs)).resolves.toBeDefined();
  });
});
