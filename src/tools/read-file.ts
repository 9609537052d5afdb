import { z } from 'zod';
import { FileKindError, readConfined } from './confined-io.js';
import { defineTool, pathField } from './define.js';
import { MAX_TEXT_BYTES, looksBinary, splitLines } from './text-files.js';

const input = z.strictObject({
  path: pathField('path').describe('The file, relative to the worktree root.'),
  offset: z.number().int().min(1).optional().describe('First line to show, counting from 1. Default 1.'),
  limit: z.number().int().min(1).optional().describe('How many lines to show. Default: as many as fit.'),
});

export const readFileTool = defineTool({
  name: 'read_file',
  description:
    'Read a text file in the worktree. Shows the exact content (no line numbers), so it can be copied into ' +
    'edit_file. Long files are shown in part, with a note saying which lines and the offset to read on from.',
  input,
  async run({ path, offset = 1, limit }, ctx) {
    let bytes: Buffer;
    try {
      bytes = await readConfined(ctx.worktree, path, MAX_TEXT_BYTES);
    } catch (error) {
      if (error instanceof FileKindError) return { ok: false, output: error.message };
      throw error;
    }
    if (looksBinary(bytes)) {
      return {
        ok: false,
        output: `${path} is a binary file (${bytes.length} bytes); read_file shows text only`,
      };
    }
    const text = bytes.toString('utf8');
    const lines = splitLines(text);
    if (lines.length === 0) return { ok: true, output: `(${path} is empty)` };
    if (offset > lines.length) {
      return {
        ok: false,
        output: `offset ${offset} is past the end of ${path}, which has ${lines.length} lines`,
      };
    }
    const whole =
      offset === 1 && (limit === undefined || limit >= lines.length) && text.length <= ctx.outputCap;
    return { ok: true, output: whole ? text : window(lines, offset, limit, ctx.outputCap) };
  },
});

/** Whole lines from `offset` that fit the cap, and a note when that is not all of them. */
function window(lines: string[], offset: number, limit: number | undefined, cap: number): string {
  const last = Math.min(lines.length, limit === undefined ? lines.length : offset - 1 + limit);
  const noteRoom = 100;
  const shown: string[] = [];
  let size = 0;
  for (let i = offset - 1; i < last; i += 1) {
    const line = lines[i] ?? '';
    if (shown.length > 0 && size + line.length + 1 > cap - noteRoom) break;
    shown.push(line.length > cap - noteRoom ? `${line.slice(0, Math.max(0, cap - noteRoom))}…` : line);
    size += line.length + 1;
  }
  const end = offset - 1 + shown.length;
  const text = shown.join('\n');
  if (offset === 1 && end === lines.length) return text;
  const more = end < lines.length ? `; use offset=${end + 1} to read more` : '';
  return `${text}\n[lines ${offset}-${end} of ${lines.length}${more}]`;
}
