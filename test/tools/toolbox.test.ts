import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOOL_NAMES } from '../../src/core/definition/schema.js';
import { createToolbox, executeTool } from '../../src/tools/toolbox.js';
import type { Tool, ToolContext, ToolResult } from '../../src/tools/types.js';
import { tempDir } from './temp-dir.js';

let root: string;
let worktree: string;
let cleanup: () => Promise<void>;
let ctx: ToolContext;
const tools: Tool[] = createToolbox(TOOL_NAMES);

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('tools'));
  worktree = path.join(root, 'wt');
  await mkdir(path.join(worktree, 'src', 'lib'), { recursive: true });
  await mkdir(path.join(worktree, '.git'));
  await mkdir(path.join(worktree, 'node_modules', 'dep'), { recursive: true });
  await mkdir(path.join(root, 'outside'));
  await writeFile(path.join(root, 'outside', 'secret.txt'), 'needle outside\n');
  await writeFile(path.join(worktree, 'src', 'a.ts'), 'export const a = 1;\nconst needle = "x";\n');
  await writeFile(path.join(worktree, 'src', 'lib', 'b.ts'), 'needle here\nnothing\nneedle again\n');
  await writeFile(path.join(worktree, '.git', 'config'), 'needle in git\n');
  await writeFile(path.join(worktree, 'node_modules', 'dep', 'index.js'), 'needle in deps\n');
  await writeFile(path.join(worktree, '.env.example'), 'A=1\n');
  await writeFile(
    path.join(worktree, 'image.bin'),
    Buffer.from([0x6e, 0x65, 0x65, 0x64, 0x6c, 0x65, 0, 1, 2]),
  );
  ctx = { worktree, runTimeoutMs: 20_000, outputCap: 10_000, protectedPaths: ['test/**'] };
});
afterEach(() => cleanup());

function call(name: string, input: unknown, context: ToolContext = ctx): Promise<ToolResult> {
  return executeTool(tools, { id: 'c1', name, input }, context);
}

describe('createToolbox', () => {
  it('gives the named tools in order with a description and a JSON schema from zod', () => {
    const box = createToolbox(['search', 'read_file', 'search']);
    expect(box.map((tool) => tool.spec.name)).toEqual(['search', 'read_file']);
    const read = box[1]!.spec;
    expect(read.description.length).toBeGreaterThan(20);
    expect(read.inputSchema).toMatchObject({
      type: 'object',
      properties: { path: { type: 'string' }, offset: { type: 'integer' }, limit: { type: 'integer' } },
      required: ['path'],
    });
    expect(read.inputSchema).not.toHaveProperty('$schema');
  });

  it('has a tool for every name in the schema', () => {
    expect(createToolbox(TOOL_NAMES).map((tool) => tool.spec.name)).toEqual([...TOOL_NAMES]);
  });
});

describe('executeTool', () => {
  it('answers an unknown tool with the list of tools it has', async () => {
    const result = await executeTool(createToolbox(['read_file']), { id: 'x', name: 'rm', input: {} }, ctx);
    expect(result).toEqual({ ok: false, output: 'unknown tool "rm"; the tools you have are: read_file' });
  });

  it('answers invalid input with what was wrong', async () => {
    const missing = await call('read_file', {});
    expect(missing.ok).toBe(false);
    expect(missing.output).toContain('invalid input for read_file');
    expect(missing.output).toContain('path');
    const wrongType = await call('write_file', { path: 'x.txt', content: 42 });
    expect(wrongType.ok).toBe(false);
    expect(wrongType.output).toContain('content');
    const extra = await call('read_file', { path: 'src/a.ts', lines: 3 });
    expect(extra.ok).toBe(false);
    expect(extra.output).toContain('lines');
    expect((await call('read_file', null)).ok).toBe(false);
  });

  it('answers a path outside the worktree with a refusal', async () => {
    const result = await call('read_file', { path: '../outside/secret.txt' });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('refused: ../outside/secret.txt resolves outside the worktree');
  });
});

describe('read_file', () => {
  it('returns the exact content', async () => {
    expect(await call('read_file', { path: 'src/a.ts' })).toEqual({
      ok: true,
      output: 'export const a = 1;\nconst needle = "x";\n',
    });
  });

  it('returns a window of lines with a note on how to read on', async () => {
    const result = await call('read_file', { path: 'src/lib/b.ts', offset: 2, limit: 1 });
    expect(result).toEqual({ ok: true, output: 'nothing\n[lines 2-2 of 3; use offset=3 to read more]' });
  });

  it('cuts at the output cap on a whole line and says where to continue', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i + 1} ${'x'.repeat(20)}`);
    await writeFile(path.join(worktree, 'long.txt'), lines.join('\n'));
    const result = await call('read_file', { path: 'long.txt' }, { ...ctx, outputCap: 1000 });
    expect(result.ok).toBe(true);
    expect(result.output.length).toBeLessThanOrEqual(1000);
    const note = /\[lines 1-(\d+) of 500; use offset=(\d+) to read more\]$/.exec(result.output);
    expect(note).not.toBeNull();
    expect(Number(note![2])).toBe(Number(note![1]) + 1);
    expect(result.output).toContain(`line ${note![1]} `);
  });

  it('fails clearly for a missing file, a directory, a binary file and an offset past the end', async () => {
    const missing = await call('read_file', { path: 'nope.ts' });
    expect(missing).toEqual({
      ok: false,
      output: 'read_file failed: no such file or directory: nope.ts; use list_files to see what exists',
    });
    expect((await call('read_file', { path: 'src' })).output).toContain('src is a directory; use list_files');
    expect((await call('read_file', { path: 'image.bin' })).output).toContain('image.bin is a binary file');
    expect((await call('read_file', { path: 'src/a.ts', offset: 10 })).output).toBe(
      'offset 10 is past the end of src/a.ts, which has 2 lines',
    );
  });
});

describe('write_file', () => {
  it('creates the file and its parent folders', async () => {
    const result = await call('write_file', { path: 'new/deep/c.ts', content: 'one\ntwo\n' });
    expect(result).toEqual({ ok: true, output: 'created new/deep/c.ts (8 bytes, 2 lines)' });
    expect(await readFile(path.join(worktree, 'new', 'deep', 'c.ts'), 'utf8')).toBe('one\ntwo\n');
  });

  it('overwrites an existing file', async () => {
    const result = await call('write_file', { path: 'src/a.ts', content: 'x' });
    expect(result.output).toBe('overwrote src/a.ts (1 bytes, 1 lines)');
    expect(await readFile(path.join(worktree, 'src', 'a.ts'), 'utf8')).toBe('x');
  });

  it('refuses .git, protected paths and symlinks leading outside, writing nothing', async () => {
    const git = await call('write_file', { path: '.git/hooks/pre-commit', content: 'evil' });
    expect(git.ok).toBe(false);
    expect(git.output).toContain('is inside .git');
    const graded = await call('write_file', { path: 'test/grader.test.ts', content: 'pass' });
    expect(graded.ok).toBe(false);
    expect(graded.output).toContain('belongs to a grader');
    await symlink(path.join(root, 'outside'), path.join(worktree, 'out'));
    const escaped = await call('write_file', { path: 'out/planted.txt', content: 'x' });
    expect(escaped.ok).toBe(false);
    expect(escaped.output).toContain('resolves outside the worktree');
    await expect(readFile(path.join(root, 'outside', 'planted.txt'))).rejects.toThrow();
  });
});

describe('edit_file', () => {
  it('replaces a unique occurrence exactly, keeping $ patterns literal', async () => {
    const result = await call('edit_file', {
      path: 'src/a.ts',
      old_string: 'a = 1',
      new_string: 'a = "$&$1"',
    });
    expect(result).toEqual({ ok: true, output: 'edited src/a.ts: replaced 1 occurrence' });
    expect(await readFile(path.join(worktree, 'src', 'a.ts'), 'utf8')).toBe(
      'export const a = "$&$1";\nconst needle = "x";\n',
    );
  });

  it('refuses an ambiguous match unless replace_all, saying how many', async () => {
    const ambiguous = await call('edit_file', {
      path: 'src/lib/b.ts',
      old_string: 'needle',
      new_string: 'pin',
    });
    expect(ambiguous.ok).toBe(false);
    expect(ambiguous.output).toContain('occurs 2 times in src/lib/b.ts');
    expect(ambiguous.output).toContain('replace_all');
    expect(await readFile(path.join(worktree, 'src', 'lib', 'b.ts'), 'utf8')).toBe(
      'needle here\nnothing\nneedle again\n',
    );

    const all = await call('edit_file', {
      path: 'src/lib/b.ts',
      old_string: 'needle',
      new_string: 'pin',
      replace_all: true,
    });
    expect(all).toEqual({ ok: true, output: 'edited src/lib/b.ts: replaced 2 occurrences' });
    expect(await readFile(path.join(worktree, 'src', 'lib', 'b.ts'), 'utf8')).toBe(
      'pin here\nnothing\npin again\n',
    );
  });

  it('says to read the file first when the text is not found', async () => {
    const result = await call('edit_file', { path: 'src/a.ts', old_string: 'a  = 1', new_string: 'b' });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('not found in src/a.ts (0 matches)');
    expect(result.output).toContain('read the file first');
  });

  it('fails clearly for an empty old_string, a missing file and a protected file', async () => {
    expect((await call('edit_file', { path: 'src/a.ts', old_string: '', new_string: 'x' })).output).toContain(
      'use write_file',
    );
    expect((await call('edit_file', { path: 'gone.ts', old_string: 'a', new_string: 'b' })).output).toContain(
      'no such file or directory: gone.ts',
    );
    await mkdir(path.join(worktree, 'test'));
    await writeFile(path.join(worktree, 'test', 't.ts'), 'a');
    expect(
      (await call('edit_file', { path: 'test/t.ts', old_string: 'a', new_string: 'b' })).output,
    ).toContain('belongs to a grader');
  });
});

describe('list_files', () => {
  it('lists every file sorted, with dotfiles, without .git, node_modules or symlinks', async () => {
    await symlink(path.join(root, 'outside'), path.join(worktree, 'out'));
    await symlink(path.join(root, 'outside', 'secret.txt'), path.join(worktree, 'secret-link.txt'));
    const result = await call('list_files', {});
    expect(result).toEqual({
      ok: true,
      output: ['.env.example', 'image.bin', 'src/a.ts', 'src/lib/b.ts'].join('\n'),
    });
  });

  it('filters by pattern and path, giving paths from the worktree root', async () => {
    expect((await call('list_files', { pattern: '**/*.ts', path: 'src/lib' })).output).toBe('src/lib/b.ts');
    expect((await call('list_files', { pattern: '*.ts', path: 'src' })).output).toBe('src/a.ts');
    expect((await call('list_files', { pattern: '*.py' })).output).toBe('no files match *.py in .');
  });

  it('caps a long listing and counts what was left out', async () => {
    await mkdir(path.join(worktree, 'many'));
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        writeFile(path.join(worktree, 'many', `f${String(i).padStart(3, '0')}.txt`), ''),
      ),
    );
    const result = await call('list_files', { path: 'many' }, { ...ctx, outputCap: 1_000 });
    const shown = result.output.split('\n').filter((line) => line.startsWith('many/'));
    expect(shown[0]).toBe('many/f000.txt');
    expect(result.output).toContain(
      `[… ${300 - shown.length} more not shown; narrow the pattern or give a path]`,
    );
    expect(shown.length).toBeLessThan(300);
  });

  it('refuses patterns and paths that leave the worktree', async () => {
    expect((await call('list_files', { pattern: '../**' })).output).toContain('refused');
    expect((await call('list_files', { pattern: '/etc/*' })).output).toContain('refused');
    expect((await call('list_files', { path: '..' })).output).toContain('resolves outside the worktree');
    const braces = await call('list_files', { pattern: '{..,src}/*' });
    expect(braces.output).not.toContain('secret');
  });
});

describe('search', () => {
  it('finds text as file:line: text, skipping binary, .git and node_modules', async () => {
    const result = await call('search', { pattern: 'needle' });
    expect(result).toEqual({
      ok: true,
      output: [
        'src/a.ts:2: const needle = "x";',
        'src/lib/b.ts:1: needle here',
        'src/lib/b.ts:3: needle again',
      ].join('\n'),
    });
  });

  it('searches by regular expression, within a path and a glob', async () => {
    expect((await call('search', { pattern: '^needle \\w+$', regex: true, path: 'src/lib' })).output).toBe(
      'src/lib/b.ts:1: needle here\nsrc/lib/b.ts:3: needle again',
    );
    expect((await call('search', { pattern: 'needle', glob: '*.ts', path: 'src' })).output).toBe(
      'src/a.ts:2: const needle = "x";',
    );
    expect((await call('search', { pattern: 'needle', path: 'src/a.ts' })).output).toBe(
      'src/a.ts:2: const needle = "x";',
    );
  });

  it('takes a plain pattern literally', async () => {
    expect((await call('search', { pattern: 'a = 1;' })).output).toBe('src/a.ts:1: export const a = 1;');
    expect((await call('search', { pattern: '.*' })).output).toMatch(/^no matches for \.\* in \d+ files$/);
  });

  it('reports an invalid regular expression and what to do', async () => {
    const result = await call('search', { pattern: '(unclosed', regex: true });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('invalid regular expression');
    expect(result.output).toContain('regex: false');
  });

  it('caps many matches and counts the rest', async () => {
    await writeFile(path.join(worktree, 'big.txt'), 'hit\n'.repeat(500));
    const result = await call('search', { pattern: 'hit', path: 'big.txt' });
    expect(result.output.split('\n').filter((line) => line.startsWith('big.txt:'))).toHaveLength(200);
    expect(result.output).toContain('[… 300 more matches not shown; narrow with path or glob]');
  });

  it('does not search outside the worktree', async () => {
    expect((await call('search', { pattern: 'needle', path: '../outside' })).output).toContain('refused');
    await symlink(path.join(root, 'outside'), path.join(worktree, 'out'));
    expect((await call('search', { pattern: 'outside' })).output).toMatch(/^no matches/);
  });
});

describe("loops' own folders in the worktree", () => {
  beforeEach(async () => {
    await mkdir(path.join(worktree, 'state', 'fix', 'runs'), { recursive: true });
    await writeFile(path.join(worktree, 'state', 'fix', 'runs', 'r1.md'), 'needle: HOLDOUT-FINDING\n');
    await mkdir(path.join(worktree, '.loops', 'worktrees'), { recursive: true });
    await writeFile(path.join(worktree, '.loops', 'worktrees', 'note.txt'), 'needle in .loops\n');
    await mkdir(path.join(worktree, 'src', 'state'));
    await writeFile(path.join(worktree, 'src', 'state', 'store.ts'), 'export const needle = 1;\n');
  });

  it('are left out of list_files and search, and a folder named state deeper down is not', async () => {
    const listed = await call('list_files', {});
    expect(listed.output.split('\n')).toEqual([
      '.env.example',
      'image.bin',
      'src/a.ts',
      'src/lib/b.ts',
      'src/state/store.ts',
    ]);
    expect((await call('list_files', { pattern: 'state/**' })).output).toBe('no files match state/** in .');
    const found = await call('search', { pattern: 'needle' });
    expect(found.output).not.toContain('HOLDOUT');
    expect(found.output).not.toContain('.loops');
    expect(found.output).toContain('src/state/store.ts:1: export const needle = 1;');
  });

  it('are refused to read_file, list_files, search and the write tools', async () => {
    const refusal = "state/ is loops' own record and is not part of the task";
    for (const [name, input] of [
      ['read_file', { path: 'state/fix/runs/r1.md' }],
      ['list_files', { path: 'state' }],
      ['search', { pattern: 'needle', path: 'state/fix' }],
      ['write_file', { path: 'state/fix/runs/r1.md', content: 'verified' }],
      ['edit_file', { path: 'state/fix/runs/r1.md', old_string: 'needle', new_string: 'x' }],
    ] as const) {
      const result = await call(name, input);
      expect(result.ok, name).toBe(false);
      expect(result.output, name).toContain(refusal);
      expect(result.output, name).not.toContain('HOLDOUT');
    }
    expect((await call('read_file', { path: '.loops/worktrees/note.txt' })).output).toContain(
      ".loops/ holds loops' own worktrees and is not part of the task",
    );
    expect(await readFile(path.join(worktree, 'state', 'fix', 'runs', 'r1.md'), 'utf8')).toBe(
      'needle: HOLDOUT-FINDING\n',
    );
  });
});
