import { z } from 'zod';
import { writeConfined } from './confined-io.js';
import { defineTool, pathField } from './define.js';
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
    const { created } = await writeConfined(ctx.worktree, name, content, ctx.protectedPaths);
    const lines = splitLines(content).length;
    return {
      ok: true,
      output: `${created ? 'created' : 'overwrote'} ${name} (${Buffer.byteLength(content)} bytes, ${lines} lines)`,
    };
  },
});
