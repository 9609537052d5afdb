/**
 * Ink 6.8 draws every frame from nothing: a fresh Output builds one cell object per cell (4,800 at
 * 120×40), tokenizes every line written into it and turns every row back into a string. That was
 * two thirds of a frame's CPU in the UI benchmark, for rows that mostly did not change.
 *
 * This replaces Output's `get` with one that keeps each row's string from the frame before, keyed by
 * exactly what was written into that row: the writes, in order, after Ink's clipping and its text
 * transforms (colours). A row is a function of those writes alone (its cells start blank and each
 * write overwrites some), so a row whose writes are the same is the same string; a row that changed
 * is drawn by Ink's own Output, one row high, from those writes. The vertical clip arithmetic below
 * is Ink's (output.js), applied per line; test/ui/row-cache.test.ts compares this with Ink's `get`.
 *
 * Installed only over the Ink it was written against (the version is checked); any other Ink draws
 * as it always did.
 */
import { readFile } from 'node:fs/promises';

/** The Ink version whose Output this matches. */
export const INK_VERSION = '6.8.0';

type Transformer = (line: string, index: number) => string;
interface Clip {
  x1?: number;
  x2?: number;
  y1?: number;
  y2?: number;
}
type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: Transformer[] }
  | { type: 'clip'; clip: Clip }
  | { type: 'unclip' };

/** The members of Ink's Output (build/output.js) this module reads. */
export interface InkOutput {
  width: number;
  height: number;
  operations: Operation[];
  write(x: number, y: number, text: string, options: { transformers: Transformer[] }): void;
  get: (this: InkOutput) => Frame;
}
interface Frame {
  output: string;
  height: number;
}
export interface InkOutputClass {
  new (options: { width: number; height: number }): InkOutput;
  prototype: InkOutput;
}

/** One line written into a row: where it starts and the text after clipping and transforms. */
interface RowWrite {
  x: number;
  line: string;
}

/**
 * Splits Ink's operations into the writes each row receives, in order, with Ink's vertical clipping
 * applied per line. Undefined when a clip is horizontal (a box with `overflow` or `overflowX`
 * hidden): Ink then slices lines, and the frame is left to Ink's own `get`.
 */
export function rowWrites(output: InkOutput): RowWrite[][] | undefined {
  const rows: RowWrite[][] = Array.from({ length: output.height }, () => []);
  const clips: Clip[] = [];
  for (const operation of output.operations) {
    if (operation.type === 'clip') {
      if (typeof operation.clip.x1 === 'number' && typeof operation.clip.x2 === 'number') return undefined;
      clips.push(operation.clip);
    }
    if (operation.type === 'unclip') clips.pop();
    if (operation.type !== 'write') continue;
    const { text, transformers } = operation;
    let { y } = operation;
    let lines = text.split('\n');
    const clip = clips.at(-1);
    if (clip !== undefined && typeof clip.y1 === 'number' && typeof clip.y2 === 'number') {
      if (y + lines.length < clip.y1 || y > clip.y2) continue;
      const from = y < clip.y1 ? clip.y1 - y : 0;
      const to = y + lines.length > clip.y2 ? clip.y2 - y : lines.length;
      lines = lines.slice(from, to);
      if (y < clip.y1) y = clip.y1;
    }
    // As in Ink: a line whose row does not exist is dropped without moving on a row (so a write
    // starting above the frame draws nothing), and the transforms see the index after clipping.
    let offsetY = 0;
    lines.forEach((raw, index) => {
      const row = rows[y + offsetY];
      if (row === undefined) return;
      let line = raw;
      for (const transformer of transformers) line = transformer(line, index);
      row.push({ x: operation.x, line });
      offsetY += 1;
    });
  }
  return rows;
}

/** A row's key: its writes, in order (a NUL cannot be in terminal text). */
function rowKey(writes: readonly RowWrite[]): string {
  let key = '';
  for (const write of writes) key += `${write.x}\u0000${write.line}\u0000`;
  return key;
}

/**
 * A `get` for Ink's Output that reuses the rows of the frame before. Each frame's rows are kept
 * until the next frame, so the cache holds at most one frame's rows.
 */
export function cachedGet(
  Output: InkOutputClass,
  original: (this: InkOutput) => Frame,
): (this: InkOutput) => Frame {
  let previous = new Map<string, string>();
  return function get(this: InkOutput) {
    const writes = rowWrites(this);
    if (writes === undefined) return original.call(this);
    const next = new Map<string, string>();
    const rows = writes.map((row) => {
      const key = rowKey(row);
      let text = next.get(key) ?? previous.get(key);
      if (text === undefined) {
        // Ink's own Output, one row high, draws the row from the same writes (already clipped).
        const one = new Output({ width: this.width, height: 1 });
        for (const write of row) one.write(write.x, 0, write.line, { transformers: [] });
        text = original.call(one).output;
      }
      next.set(key, text);
      return text;
    });
    previous = next;
    return { output: rows.join('\n'), height: rows.length };
  };
}

/** Ink's Output class, when Ink is the version this module knows; undefined otherwise. */
export async function inkOutputClass(): Promise<InkOutputClass | undefined> {
  // Ink's package exports only its index; its Output lives beside it.
  const index = import.meta.resolve('ink');
  const pkg = JSON.parse(await readFile(new URL('../package.json', index), 'utf8')) as { version?: string };
  if (pkg.version !== INK_VERSION) return undefined;
  const output = (await import(new URL('./output.js', index).href)) as { default: InkOutputClass };
  return output.default;
}

let installed: Promise<boolean> | undefined;

/**
 * Puts the row cache on Ink's Output (once per process). Resolves to whether it did: false on an
 * Ink other than INK_VERSION, whose Output this does not know.
 */
export function installRowCache(): Promise<boolean> {
  installed ??= (async () => {
    const Output = await inkOutputClass();
    if (Output === undefined) return false;
    Output.prototype.get = cachedGet(Output, Output.prototype.get);
    return true;
  })();
  return installed;
}
