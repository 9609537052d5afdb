import { z } from 'zod';
import { readConfined, writeConfined } from './confined-io.js';
import { defineTool, pathField } from './define.js';
import { resolveInWorktree } from './paths.js';
import { MAX_TEXT_BYTES } from './text-files.js';

const input = z.strictObject({
  path: pathField('path').describe('The file to change, relative to the worktree root.'),
  old_string: z.string().describe('Text to replace, copied exactly from the file (whitespace included).'),
  new_string: z.string().describe('The text to put in its place.'),
  replace_all: z
    .boolean()
    .optional()
    .describe('Replace every occurrence. Default false: it must occur once.'),
});

function countOccurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length))
    count += 1;
  return count;
}

export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Replace exact text in a file in the worktree. old_string must occur exactly once (include enough ' +
    'surrounding lines to make it unique) unless replace_all is true. Read the file first.',
  input,
  async run({ path, old_string: oldString, new_string: newString, replace_all: replaceAll = false }, ctx) {
    if (oldString === '') {
      return {
        ok: false,
        output: 'old_string is empty; to create a file or replace all of it use write_file',
      };
    }
    if (oldString === newString) {
      return { ok: false, output: 'old_string and new_string are the same, so nothing would change' };
    }
    // Checked for writing first, so a protected file is refused before it is read.
    await resolveInWorktree(ctx.worktree, path, 'write', ctx.protectedPaths);
    const before = (await readConfined(ctx.worktree, path, MAX_TEXT_BYTES)).toString('utf8');
    const count = countOccurrences(before, oldString);
    if (count === 0) {
      return {
        ok: false,
        output:
          `old_string was not found in ${path} (0 matches); read the file first (read_file) and copy the ` +
          'text exactly, including whitespace and indentation',
      };
    }
    if (count > 1 && !replaceAll) {
      return {
        ok: false,
        output:
          `old_string occurs ${count} times in ${path}; include more surrounding lines so it matches once, ` +
          'or set replace_all: true to change every occurrence (read the file first if unsure)',
      };
    }
    // split/join, not String.replace: "$&" and friends in new_string must stay literal.
    const after = before.split(oldString).join(newString);
    await writeConfined(ctx.worktree, path, after, ctx.protectedPaths);
    return { ok: true, output: `edited ${path}: replaced ${count} occurrence${count === 1 ? '' : 's'}` };
  },
});
