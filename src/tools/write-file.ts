import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool, pathField } from './define.js';
import { resolveInWorktree } from './paths.js';
import { splitLines } from './text-files.js';

const input = z.strictObject({
  path: pathField('path').describe('The file, relative to the worktree root. Missing folders are created.'),
  content: z.string().describe('The complete new content of the file.'),
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description:
    "Create a file, or replace a file's whole content, in the worktree. For a change to part of an " +
    'existing file prefer edit_file.',
  input,
  async run({ path: name, content }, ctx) {
    const file = await resolveInWorktree(ctx.worktree, name, 'write', ctx.protectedPaths);
    const existed = await stat(file).then(
      (info) => info.isFile(),
      () => false,
    );
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content, 'utf8');
    const lines = splitLines(content).length;
    return {
      ok: true,
      output: `${existed ? 'overwrote' : 'created'} ${name} (${Buffer.byteLength(content)} bytes, ${lines} lines)`,
    };
  },
});
