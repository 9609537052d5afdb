/**
 * The row cache (src/ui/row-cache.ts) must draw exactly what Ink's own Output draws: every frame of
 * the real screen, through a run's events, key presses and an overlay, is drawn both ways and
 * compared, as are hand-made writes at the edges of Ink's rules (clips, rows outside the frame,
 * wide characters, transforms that read the line's index).
 */
import { cleanup } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cachedGet, inkOutputClass, type InkOutput, type InkOutputClass } from '../../src/ui/row-cache.js';
import { loopInfo, modelResponse, runEvents, started, toolCall, usage } from './fake-port.js';
import { renderApp } from './render-app.js';

let Output: InkOutputClass;
let original: InkOutput['get'];

beforeAll(async () => {
  const found = await inkOutputClass();
  if (found === undefined) throw new Error('the installed Ink is not the version row-cache.ts knows');
  Output = found;
  original = Output.prototype.get;
});

afterAll(() => {
  Output.prototype.get = original;
});

/** Draws an Output both ways; counts the rows Ink's own get had to draw for the cache. */
function both(cached: InkOutput['get'], output: InkOutput) {
  return { ink: original.call(output), cached: cached.call(output) };
}

describe('row cache', () => {
  it('draws every frame of the screen as Ink does, reusing unchanged rows', async () => {
    let drawn = 0;
    // Counts Ink's own draws made for the cache: one per changed row, none for a reused one.
    const counted = function (this: InkOutput) {
      if (this.height === 1) drawn += 1;
      return original.call(this);
    };
    const cached = cachedGet(Output, counted);
    const frames: Array<{ ink: string; cached: string }> = [];
    Output.prototype.get = function (this: InkOutput) {
      if (this.height === 1) return original.call(this);
      const pair = both(cached, this);
      frames.push({ ink: pair.ink.output, cached: pair.cached.output });
      expect(pair.cached.height).toBe(pair.ink.height);
      return pair.ink;
    };
    try {
      const app = renderApp({ infos: [loopInfo('fix-tests'), loopInfo('bench')], rows: 30, columns: 100 });
      await vi.waitFor(() => expect(app.row('fix-tests')).toContain('idle'));
      const e = runEvents('fix-tests', 'r1');
      app.emit(e(started({ iterations: 5 })), e({ type: 'iteration.started' }));
      await vi.waitFor(() => expect(app.row('fix-tests')).toContain('running'));
      for (let i = 0; i < 6; i++) {
        app.emit(
          e(toolCall('read_file', { path: `src/${i}.ts` })),
          e(modelResponse(`step ${i} ✓ 完了`, usage(10 * i))),
        );
        await vi.waitFor(() => expect(app.frame()).toContain(`step ${i}`));
      }
      app.stdin.write('j');
      app.stdin.write('\t');
      // The help overlay clips horizontally: that frame is Ink's own get, and still compared.
      app.stdin.write('?');
      await vi.waitFor(() => expect(app.frame()).toContain('help'));
      app.stdin.write('?');
      await vi.waitFor(() => expect(app.frame()).not.toContain('keys'));
      cleanup();
    } finally {
      Output.prototype.get = original;
    }
    expect(frames.length).toBeGreaterThan(10);
    for (const frame of frames) expect(frame.cached).toBe(frame.ink);
    // Rows were reused: far fewer rows drawn than frames × rows.
    expect(drawn).toBeLessThan((frames.length * 30) / 3);
  });

  it('follows Ink at the edges: overlapping writes, clips, rows outside, wide characters, transforms', () => {
    const cached = cachedGet(Output, original);
    // Ink's colours are transforms that wrap a line in escape sequences; these are written by hand.
    const indexed = (line: string, index: number): string => `\u001B[31m${index}${line}\u001B[39m`;
    const cases: Array<(output: InkOutput) => void> = [
      (o) => {
        o.write(0, 0, 'hello world', { transformers: [] });
        o.write(3, 0, '\u001B[1mXY\u001B[22m', { transformers: [] });
      },
      (o) => o.write(1, -1, 'above\nfirst\nsecond', { transformers: [indexed] }),
      (o) => o.write(0, 2, 'third\nbelow\nfurther', { transformers: [indexed] }),
      (o) => o.write(2, 1, '完了 ok\n✓ done', { transformers: [] }),
      (o) => {
        o.operations.push({ type: 'clip', clip: { y1: 1, y2: 2 } });
        o.write(0, 0, 'a\nb\nc', { transformers: [indexed] });
        o.operations.push({ type: 'unclip' });
        o.write(5, 2, 'after', { transformers: [] });
      },
      (o) => {
        o.operations.push({ type: 'clip', clip: { x1: 1, x2: 4, y1: 0, y2: 3 } });
        o.write(0, 0, 'clipped across', { transformers: [] });
        o.operations.push({ type: 'unclip' });
      },
    ];
    // The same text moving along its row, and between rows: a row is its writes and where they start.
    for (const at of [0, 2, 1]) cases.push((o) => o.write(at, at, 'moving', { transformers: [] }));
    for (const draw of cases) {
      // Twice: the second frame is drawn from the rows kept from the first.
      for (let frame = 0; frame < 2; frame++) {
        const output = new Output({ width: 12, height: 3 });
        draw(output);
        const pair = both(cached, output);
        expect(pair.cached).toEqual(pair.ink);
      }
    }
  });
});
