/**
 * Rewrites only the lines of a frame that changed. Ink 6.8's own `incrementalRendering` moves the
 * cursor up one line too few before it rewrites (measured in tmux: every frame lands a row lower,
 * old and new rows interleaved), so the screen keeps Ink's full-redraw mode, which is correct, and
 * this stream between Ink and the terminal turns each full frame into the changed lines only.
 *
 * Ink's full-redraw frame is one write: `eraseLines(n)` (n = the previous frame's lines plus one)
 * followed by the new frame ending in a newline, with the cursor left on the line below it. A
 * write of exactly that shape, against the frame this stream last passed on, is replaced by: up to
 * the frame's first line, rewrite each changed line (erased first: Ink trims trailing spaces), skip
 * unchanged ones, erase below a shorter frame, and end on the line below, where Ink expects the
 * cursor. Anything else (a clear, console output, a full-screen redraw, mode switches) passes
 * through untouched, and after it the next frame is written whole.
 */

const ESC = '\x1b[';
const ERASE_LINE = `${ESC}2K`;
const UP_ONE = `${ESC}1A`;
const TO_COLUMN_ONE = `${ESC}G`;
/** `\x1b[?2026h`, `\x1b[?25l`...: private mode switches (synchronized output, the cursor). */
// eslint-disable-next-line no-control-regex -- escape sequences are what this module reads
const MODE_SWITCHES = /^(?:\x1b\[\?[0-9;]*[hl])+$/;

/** Splits Ink's `eraseLines(count)` prefix from the frame after it. */
export function parseFrameWrite(chunk: string): { erased: number; body: string } {
  let at = 0;
  let erased = 0;
  while (chunk.startsWith(ERASE_LINE, at)) {
    erased += 1;
    at += ERASE_LINE.length;
    if (chunk.startsWith(UP_ONE, at)) at += UP_ONE.length;
  }
  if (erased > 0 && chunk.startsWith(TO_COLUMN_ONE, at)) at += TO_COLUMN_ONE.length;
  return { erased, body: chunk.slice(at) };
}

/** The lines of a frame that ends in a newline (the last, empty element dropped). */
export function frameLines(body: string): string[] {
  return body.slice(0, -1).split('\n');
}

/**
 * What turns `previous` on screen (cursor on the line below it) into `next` (cursor on the line
 * below it), touching only the lines that differ.
 */
export function diffFrames(previous: readonly string[], next: readonly string[]): string {
  let out = previous.length > 0 ? `\r${ESC}${previous.length}A` : '\r';
  let skip = 0;
  for (let i = 0; i < next.length; i++) {
    if (i < previous.length && previous[i] === next[i]) {
      skip += 1;
      continue;
    }
    if (skip > 0) out += `${ESC}${skip}B`;
    skip = 0;
    out += `${ERASE_LINE}${next[i] ?? ''}\r\n`;
  }
  if (skip > 0) out += `${ESC}${skip}B`;
  // A shorter frame: what was below its end goes (the frame is the bottom of what Ink drew).
  if (next.length < previous.length) out += `${ESC}J`;
  return out;
}

export class FrameDiffer {
  /** The frame on screen as this stream last wrote it; undefined when not known. */
  private shown: string[] | undefined;
  /** Bytes passed on, and frames rewritten as diffs: the benchmark reads them. */
  bytes = 0;
  diffed = 0;

  /** What to write to the terminal for one write of Ink's. */
  transform(chunk: string): string {
    if (chunk === '' || MODE_SWITCHES.test(chunk)) return chunk;
    const { erased, body } = parseFrameWrite(chunk);
    const isFrame = body.endsWith('\n') && !body.includes('\x1b[2J') && !body.includes('\x1bc');
    if (!isFrame) {
      // A clear (erase only), console output or a full-screen redraw: the screen is not ours to know.
      this.shown = undefined;
      return chunk;
    }
    const lines = frameLines(body);
    if (this.shown !== undefined && erased === this.shown.length + 1) {
      const diff = diffFrames(this.shown, lines);
      this.shown = lines;
      this.diffed += 1;
      return diff;
    }
    // A first frame, or one after something we did not follow: Ink's own erase-and-write is right
    // by itself, and leaves these lines on screen with the cursor below them.
    this.shown = lines;
    return chunk;
  }

  /** The screen was cleared behind Ink's back (a resize): the next frame is written whole. */
  reset(): void {
    this.shown = undefined;
  }
}
