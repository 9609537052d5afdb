/** The line-diffing stream between Ink and the terminal, checked against a small terminal model. */
import { describe, expect, it } from 'vitest';
import { diffFrames, FrameDiffer, parseFrameWrite } from '../../src/ui/frame-diff.js';

/** Enough of a VT100 for these writes: text, CR, LF, cursor up/down/column, erase line/below. */
class Screen {
  rows: string[];
  row = 0;
  col = 0;
  constructor(
    readonly height: number,
    readonly width: number,
  ) {
    this.rows = Array.from({ length: height }, () => '');
  }
  private put(ch: string): void {
    const line = this.rows[this.row]!.padEnd(this.col, ' ');
    this.rows[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
    this.col = Math.min(this.col + 1, this.width);
  }
  write(data: string): void {
    for (let i = 0; i < data.length; i++) {
      const ch = data[i]!;
      if (ch === '\r') this.col = 0;
      // The tty's output processing (ONLCR, kept in raw mode) makes a newline a CR LF.
      else if (ch === '\n') {
        this.row = Math.min(this.row + 1, this.height - 1);
        this.col = 0;
      } else if (ch === '\x1b' && data[i + 1] === '[') {
        // eslint-disable-next-line no-control-regex -- a terminal model reads escape sequences
        const m = /^\x1b\[(\??)([0-9;]*)([A-Za-z])/.exec(data.slice(i));
        if (m === null) throw new Error(`unknown escape at ${i}`);
        i += m[0].length - 1;
        const n = m[2] === '' ? 1 : Number(m[2]);
        if (m[1] === '?') continue;
        if (m[3] === 'A') this.row = Math.max(0, this.row - Math.max(1, n));
        else if (m[3] === 'B') this.row = Math.min(this.height - 1, this.row + Math.max(1, n));
        else if (m[3] === 'G') this.col = 0;
        else if (m[3] === 'K')
          this.rows[this.row] = m[2] === '2' ? '' : this.rows[this.row]!.slice(0, this.col);
        else if (m[3] === 'J') {
          this.rows[this.row] = this.rows[this.row]!.slice(0, this.col);
          for (let r = this.row + 1; r < this.height; r++) this.rows[r] = '';
        } else throw new Error(`unhandled CSI ${m[0]}`);
      } else this.put(ch);
    }
  }
  text(): string[] {
    return this.rows.map((r) => r.trimEnd());
  }
}

/** What Ink's full-redraw mode writes for a frame after one of `previousLines` lines. */
function inkWrite(previousLines: number, lines: string[]): string {
  let erase = '';
  const count = previousLines === 0 ? 0 : previousLines + 1;
  for (let i = 0; i < count; i++) erase += '\x1b[2K' + (i < count - 1 ? '\x1b[1A' : '');
  if (count > 0) erase += '\x1b[G';
  return erase + lines.join('\n') + '\n';
}

function randomFrame(rand: () => number, height: number): string[] {
  return Array.from({ length: height }, (_, i) =>
    rand() < 0.5 ? `row ${i}` : `row ${i} ${'x'.repeat(Math.floor(rand() * 30))}`,
  );
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('frame diff', () => {
  it("reads Ink's erase prefix", () => {
    expect(parseFrameWrite(inkWrite(2, ['a', 'b']))).toEqual({ erased: 3, body: 'a\nb\n' });
    expect(parseFrameWrite('a\n')).toEqual({ erased: 0, body: 'a\n' });
  });

  it('leaves the screen as a full redraw would, over many random frames of changing height', () => {
    const rand = seeded(7);
    const full = new Screen(30, 60);
    const diffed = new Screen(30, 60);
    const differ = new FrameDiffer();
    let previous = 0;
    for (let k = 0; k < 300; k++) {
      const frame = randomFrame(rand, 5 + Math.floor(rand() * 20));
      const write = inkWrite(previous, frame);
      full.write(write);
      diffed.write(differ.transform(write));
      expect(diffed.text()).toEqual(full.text());
      expect(diffed.row).toBe(full.row);
      previous = frame.length;
    }
    expect(differ.diffed).toBe(299);
  });

  it('writes only the changed line of a frame', () => {
    const differ = new FrameDiffer();
    const a = Array.from({ length: 20 }, (_, i) => `line ${i} ${'-'.repeat(50)}`);
    differ.transform(inkWrite(0, a));
    const b = [...a];
    b[7] = 'line 7 changed';
    const out = differ.transform(inkWrite(a.length, b));
    expect(out).toContain('line 7 changed');
    expect(out).not.toContain('line 6');
    expect(out.length).toBeLessThan(60);
  });

  it('passes a clear, mode switches and console output through, then writes the next frame whole', () => {
    const differ = new FrameDiffer();
    differ.transform(inkWrite(0, ['a', 'b']));
    expect(differ.transform('\x1b[?2026h')).toBe('\x1b[?2026h');
    const clear = '\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[G';
    expect(differ.transform(clear)).toBe(clear);
    const next = inkWrite(0, ['a', 'c']);
    expect(differ.transform(next)).toBe(next);
    // A frame whose erase does not match what this stream last wrote is not diffed.
    const odd = inkWrite(5, ['x']);
    expect(differ.transform(odd)).toBe(odd);
    expect(differ.transform('console says hi')).toBe('console says hi');
    const after = inkWrite(1, ['y']);
    expect(differ.transform(after)).toBe(after);
  });

  it('erases below a frame that got shorter, and the cursor ends below the new frame', () => {
    const screen = new Screen(10, 20);
    screen.write(inkWrite(0, ['1', '2', '3', '4']));
    screen.write(diffFrames(['1', '2', '3', '4'], ['1', 'two']));
    expect(screen.text().slice(0, 5)).toEqual(['1', 'two', '', '', '']);
    expect(screen.row).toBe(2);
  });
});
