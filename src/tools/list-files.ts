import { z } from 'zod';
import { defineTool } from './define.js';
import { walk } from './walk.js';

const MAX_ENTRIES = 1_000;

const input = z.strictObject({
  pattern: z.string().min(1).optional().describe('Glob, like "src/**/*.ts". Default "**/*" (everything).'),
  path: z.string().optional().describe('Folder to list, relative to the worktree root. Default the root.'),
});

export const listFilesTool = defineTool({
  name: 'list_files',
  description:
    'List files in the worktree matching a glob, sorted, as paths from the worktree root. Skips .git and ' +
    'node_modules and does not follow symlinks. Long listings are cut, with a count of what was left out.',
  input,
  async run({ pattern = '**/*', path = '.' }, ctx) {
    const { files } = await walk(ctx.worktree, path === '' ? '.' : path, pattern, ctx.signal);
    if (files.length === 0) return { ok: true, output: `no files match ${pattern} in ${path}` };
    const shown: string[] = [];
    let size = 0;
    for (const file of files) {
      if (shown.length >= MAX_ENTRIES || size + file.length + 1 > ctx.outputCap - 100) break;
      shown.push(file);
      size += file.length + 1;
    }
    const left = files.length - shown.length;
    const note = left > 0 ? `\n[… ${left} more not shown; narrow the pattern or give a path]` : '';
    return { ok: true, output: shown.join('\n') + note };
  },
});
