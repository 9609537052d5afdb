import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readChecked } from './confined-io.js';
import { defineTool } from './define.js';
import { MAX_TEXT_BYTES, looksBinary, splitLines } from './text-files.js';
import { walk } from './walk.js';

const MAX_MATCHES = 200;
/** A matching line is shown up to this many characters (minified files have very long lines). */
const MAX_LINE = 300;
/** Files read at once. */
const BATCH = 32;

const input = z.strictObject({
  pattern: z
    .string()
    .min(1)
    .describe('Text to find (or a JavaScript regular expression when regex is true).'),
  path: z
    .string()
    .optional()
    .describe('Folder or file to search, relative to the worktree root. Default the root.'),
  regex: z.boolean().optional().describe('Treat pattern as a regular expression. Default false: plain text.'),
  glob: z
    .string()
    .min(1)
    .optional()
    .describe('Only files matching this glob, like "**/*.ts". Default all files.'),
});

export const searchTool = defineTool({
  name: 'search',
  description:
    'Search the text files of the worktree for a string or regular expression. Results are "file:line: text", ' +
    'sorted by file. Skips binary files, .git and node_modules. Many matches are cut, with a count.',
  input,
  async run({ pattern, path: where = '.', regex = false, glob = '**/*' }, ctx) {
    let matches: (line: string) => boolean;
    if (regex) {
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return {
          ok: false,
          output: `invalid regular expression: ${reason}; fix it, or set regex: false to search plain text`,
        };
      }
      matches = (line) => re.test(line);
    } else {
      matches = (line) => line.includes(pattern);
    }

    const root = await realpath(ctx.worktree);
    const { files } = await walk(ctx.worktree, where === '' ? '.' : where, glob, ctx.signal);
    const results: string[] = [];
    let total = 0;
    for (let i = 0; i < files.length; i += BATCH) {
      const batch = files.slice(i, i + BATCH);
      const found = await Promise.all(batch.map((file) => searchFile(root, file, matches)));
      batch.forEach((file, j) => {
        for (const { line, text } of found[j] ?? []) {
          total += 1;
          if (results.length < MAX_MATCHES) results.push(`${file}:${line}: ${text}`);
        }
      });
    }
    if (total === 0) return { ok: true, output: `no matches for ${pattern} in ${files.length} files` };

    const shown: string[] = [];
    let size = 0;
    for (const result of results) {
      if (size + result.length + 1 > ctx.outputCap - 100) break;
      shown.push(result);
      size += result.length + 1;
    }
    const left = total - shown.length;
    const note = left > 0 ? `\n[… ${left} more matches not shown; narrow with path or glob]` : '';
    return { ok: true, output: shown.join('\n') + note };
  },
});

async function searchFile(
  root: string,
  file: string,
  matches: (line: string) => boolean,
): Promise<Array<{ line: number; text: string }>> {
  try {
    // Opened and checked like read_file: a file swapped for a symlink, a FIFO or a device after the
    // listing is skipped, never followed out of the worktree or waited on.
    const bytes = await readChecked(root, path.join(root, file), file, MAX_TEXT_BYTES);
    if (looksBinary(bytes)) return [];
    const out: Array<{ line: number; text: string }> = [];
    splitLines(bytes.toString('utf8')).forEach((raw, i) => {
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (matches(text))
        out.push({ line: i + 1, text: text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text });
    });
    return out;
  } catch {
    // A file that vanished, is refused or cannot be read mid-search is simply not a match.
    return [];
  }
}
