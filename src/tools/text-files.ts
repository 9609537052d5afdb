/** What counts as a text file, shared by read_file and search. */

/** Bytes inspected for a NUL, the same heuristic git and grep use to call a file binary. */
const SNIFF_BYTES = 8_000;

export function looksBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, SNIFF_BYTES);
  for (let i = 0; i < end; i += 1) if (bytes[i] === 0) return true;
  return false;
}

/** Files larger than this are not read whole into memory. */
export const MAX_TEXT_BYTES = 10 * 1024 * 1024;

/** Lines of `text`, without the empty string a final newline would add. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
