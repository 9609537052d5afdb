/** Each pane alone through renderPane, and the review keys against a fake ReviewPort. */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LoopEventBody } from '../../src/core/events.js';
import { spendPane } from '../../src/ui/panes/spend.js';
import { stallsPane } from '../../src/ui/panes/stalls.js';
import { tracePane } from '../../src/ui/panes/trace.js';
import { loopsPane } from '../../src/ui/panes/loops.js';
import type { ReviewPort, RunRef } from '../../src/ui/review-port.js';
import { ended, loopInfo, modelResponse, runEvents, stallSignals, started, usage } from './fake-port.js';
import { renderApp, renderPane } from './render-app.js';

afterEach(() => {
  cleanup();
});

const at = (minute: number) => `2026-01-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

describe('spend pane', () => {
  it('adds tokens and dollars per loop and model, shows unpriced calls as such, and $ per verified run', async () => {
    const a = runEvents('fix-tests', 'r1');
    const b = runEvents('bench', 'r2');
    const priced = (usd: number, minute: number) => ({
      ...a(modelResponse('x', usage(1000, 200, 3000, 500), usd)),
      time: at(minute),
    });
    const app = renderPane(spendPane, [
      a(started()),
      priced(0.1, 0),
      priced(0.2, 50),
      b(started()),
      {
        ...b({ ...modelResponse('y', usage(10, 5), null), model: 'local-llm' } as LoopEventBody),
        time: at(55),
      },
      a(ended('verified')),
    ]);
    await vi.waitFor(() => expect(app.frame()).toContain('total $0.300+? (1 unpriced)'));
    const frame = app.frame();
    expect(frame).toContain('in 2k · out 405 · cache read 6k · write 1k');
    // Hit rate: reads over everything sent (2010 + 6000 + 1000).
    expect(frame).toContain('cache hit 67%');
    // The burn over the last 15 minutes (up to the newest event) holds only the 10:50 call.
    expect(frame).toContain('burn $0.200 in 15 min ($0.800/h)');
    expect(frame).toContain('per verified run $0.300+? (1/1 runs verified)');
    expect(frame).toMatch(/fix-tests\s+\$0\.300/);
    expect(frame).toMatch(/bench\s+unpriced \(1 unpriced\)/);
    expect(frame).toMatch(/scripted\/local-llm\s+unpriced/);
    app.expectFramesFit();
  });

  it('counts a replayed event once', async () => {
    const a = runEvents('fix-tests', 'r1');
    const call = a(modelResponse('x', usage(100), 0.5));
    const app = renderPane(spendPane, [a(started()), call]);
    await vi.waitFor(() => expect(app.frame()).toContain('total $0.500'));
    app.emit(call);
    app.emit(a(modelResponse('y', usage(0), 0.25)));
    await vi.waitFor(() => expect(app.frame()).toContain('total $0.750'));
  });
});

describe('stalls pane', () => {
  it('shows each iteration’s signals and the verdict with its reason, then the recovery', async () => {
    const e = runEvents('fix-tests', 'r1');
    const app = renderPane(
      stallsPane,
      [
        e(started()),
        e({ type: 'iteration.started' }),
        e(stallSignals(true, 0, { newDiff: true, testsMoved: true })),
        e({ type: 'iteration.started' }),
        e(stallSignals(false, 1, { repeatedErrors: 2, repeatedToolCalls: true })),
        e({ type: 'iteration.started' }),
        e(stallSignals(false, 2, { returnedToEarlierDiff: true, cycle: true })),
        e({
          type: 'stall.detected',
          reason: 'no progress in 2 iterations; the same tool calls',
          window: 2,
          action: 'pause',
        }),
      ],
      { rows: 30 },
    );
    await vi.waitFor(() =>
      expect(app.frame()).toContain('⚠ stalled at iteration 3 (pause): no progress in 2 iterations'),
    );
    const frame = app.frame();
    expect(frame).toMatch(/it 1\s+✓ progress\s+new diff · tests moved/);
    expect(frame).toMatch(/it 2\s+✗ quiet 1\/2\s+diff unchanged · 2 repeated errors · same tool calls/);
    expect(frame).toMatch(/it 3\s+✗ quiet 2\/2\s+diff seen before · cycling/);
    app.emit(
      e({ type: 'iteration.started' }),
      e(stallSignals(true, 0, { testsMoved: true })),
      e({ type: 'stall.cleared', reason: 'tests moved' }),
    );
    await vi.waitFor(() => expect(app.frame()).toContain('✓ recovered at iteration 4: tests moved'));
    app.expectFramesFit();
  });
});

describe('trace pane', () => {
  it('says why a grader failed, and shows cache misses and metric values', async () => {
    const e = runEvents('fix-tests', 'r1');
    const app = renderPane(
      tracePane,
      [
        e(started()),
        e({ type: 'iteration.started' }),
        e({ type: 'cache.missed', model: 'claude', prefixTokens: 4096, reason: 'the system prompt changed' }),
        e({
          type: 'grader.result',
          name: 'lint',
          kind: 'command',
          passed: false,
          feedback: 'src/cart.js:3 no-unused-vars\nmore',
          durationMs: 3,
        }),
        e({
          type: 'metric.recorded',
          grader: 'bench',
          value: 41.5,
          status: 'discard',
          commit: 'abcdef1234567',
          best: 40,
        }),
      ],
      { rows: 20 },
    );
    await vi.waitFor(() => expect(app.frame()).toContain('✗ lint'));
    app.emit(
      e({
        type: 'grader.result',
        name: 'command',
        kind: 'command',
        passed: false,
        feedback: '$ node --test\nnot ok 2 - formatPrice',
        durationMs: 3,
      }),
    );
    await vi.waitFor(() => expect(app.frame()).toContain('✗ command'));
    const frame = app.frame();
    expect(frame).toContain('src/cart.js:3 no-unused-vars');
    // The echoed command is not a reason: the first line after it is.
    expect(frame).toContain('— not ok 2 - formatPrice');
    expect(frame).not.toContain('more');
    expect(frame).toContain('◌ cache miss on claude (4096 prefix tokens): the system prompt changed');
    expect(frame).toContain('◆ bench = 41.5 (best 40): discard abcdef12');
  });
});

describe('loops pane', () => {
  it('draws a bar per budget cap', async () => {
    const e = runEvents('fix-tests', 'r1');
    const start = started({ iterations: 4, tool_calls: 10 });
    if (start.type === 'run.started')
      start.budget = { iterations: 4, tool_calls: 10, usd: 1, tokens: 1000, minutes: 10 };
    const app = renderPane(loopsPane, [
      { ...e(start), time: at(0) },
      { ...e({ type: 'iteration.started' }), time: at(1) },
      { ...e({ type: 'iteration.started' }), time: at(5) },
      { ...e(modelResponse('x', usage(500), 0.5)), time: at(5) },
    ]);
    await vi.waitFor(() => expect(app.row('fix-tests')).toContain('2/4'));
    // iterations 2/4, tool calls 0/10, $0.50/$1, 500/1000 tokens, 5 of 10 minutes: half, empty, half…
    expect(app.row('fix-tests')).toMatch(/██░░ tools ░░░░ 0\/10 \$ ██░░ \$0\.500 tok ██░░ min ██░░/);
  });
});

describe('review pane and keys', () => {
  function fakeReview(): ReviewPort & { merged: RunRef[]; discarded: RunRef[] } {
    const merged: RunRef[] = [];
    const discarded: RunRef[] = [];
    return {
      merged,
      discarded,
      diff: async () => ({
        lines: [
          'diff --git a/a.txt b/a.txt',
          '+one',
          ...Array.from({ length: 30 }, (_, i) => `+a${i}`),
          'diff --git a/b.txt b/b.txt',
          '+two',
        ],
        files: [
          { path: 'a.txt', line: 0 },
          { path: 'b.txt', line: 32 },
        ],
        stat: '',
      }),
      merge: async (ref) => {
        merged.push(ref);
        return { ok: true, message: `merged ${ref.branch} into ${ref.baseBranch}` };
      },
      discardCost: async () => ({ commits: 2, dirty: 1, merged: false }),
      discard: async (ref) => {
        discarded.push(ref);
        return { ok: true, message: `discarded ${ref.branch} and its worktree` };
      },
    };
  }

  function finished(app: ReturnType<typeof renderApp>) {
    const e = runEvents('fix-tests', 'r1');
    const start = started();
    app.emit(e({ ...start, baseBranch: 'main', baseSha: 'abc' } as LoopEventBody), e(ended('verified')));
  }

  it('shows the finished run’s diff per file, scrolls, jumps files, and merges on m', async () => {
    const review = fakeReview();
    const app = renderApp({ review, rows: 30 });
    finished(app);
    await vi.waitFor(() => expect(app.row('fix-tests')).toContain('verified'));
    // Focus the review pane: tab through loops → trace → spend → stalls → review.
    for (const _ of [1, 2, 3, 4]) app.stdin.write('\t');
    await vi.waitFor(() => expect(app.frame()).toContain('review · loops/x/r1 → main · 2 files · a.txt'));
    expect(app.frame()).toContain('+one');
    app.stdin.write(']');
    await vi
      .waitFor(() => expect(app.frame()).toContain('+two'), { timeout: 3000 })
      .catch(() => {
        throw new Error(app.frame());
      });
    expect(app.frame()).toContain('· b.txt ·');
    expect(app.frame()).not.toContain('+one');
    app.stdin.write('[');
    await vi.waitFor(() => expect(app.frame()).toContain('+one'));
    app.stdin.write('j');
    await vi.waitFor(() => expect(app.frame()).not.toContain('diff --git a/a.txt'));
    expect(app.frame()).toContain('+one');
    app.stdin.write('m');
    await vi.waitFor(() => expect(app.frame()).toContain('merged loops/x/r1 into main'));
    expect(review.merged).toHaveLength(1);
    expect(review.merged[0]).toMatchObject({
      loop: 'fix-tests',
      run: 'r1',
      branch: 'loops/x/r1',
      baseBranch: 'main',
    });
    app.expectFramesFit();
  });

  it('discards only after y, says what is lost, and n leaves everything', async () => {
    const review = fakeReview();
    const app = renderApp({ review });
    finished(app);
    await vi.waitFor(() => expect(app.row('fix-tests')).toContain('verified'));
    app.stdin.write('x');
    await vi.waitFor(() =>
      expect(app.frame()).toContain(
        'discard loops/x/r1 and its worktree? (2 unmerged commits, 1 uncommitted change will be lost)',
      ),
    );
    app.stdin.write('s');
    app.stdin.write('n');
    await vi.waitFor(() => expect(app.frame()).toContain('nothing was changed'));
    expect(review.discarded).toEqual([]);
    expect(app.port.sent).toEqual([]);
    app.stdin.write('x');
    await vi.waitFor(() => expect(app.frame()).toContain('discard loops/x/r1'));
    app.stdin.write('y');
    await vi.waitFor(() => expect(app.frame()).toContain('discarded loops/x/r1 and its worktree'));
    expect(review.discarded).toHaveLength(1);
  });

  it('refuses m and x while the run is going', async () => {
    const review = fakeReview();
    const app = renderApp({ review });
    const e = runEvents('fix-tests', 'r1');
    app.emit(e(started()));
    await vi.waitFor(() => expect(app.row('fix-tests')).toContain('running'));
    app.stdin.write('m');
    await vi.waitFor(() => expect(app.frame()).toContain('fix-tests has no finished run to merge'));
    app.stdin.write('x');
    await vi.waitFor(() => expect(app.frame()).toContain('fix-tests has no finished run to discard'));
    expect(review.merged).toEqual([]);
    expect(review.discarded).toEqual([]);
  });
});

describe('a small terminal', () => {
  it('never draws a frame taller than the terminal, whatever is focused', async () => {
    const infos = Array.from({ length: 12 }, (_, i) => loopInfo(`loop-${i}`));
    const app = renderApp({ infos, rows: 14 });
    for (let i = 0; i < 5; i++) {
      app.stdin.write('\t');
      await vi.waitFor(() => expect(app.frames.length).toBeGreaterThan(i));
    }
    app.stdin.write('?');
    await vi.waitFor(() => expect(app.frame()).toContain('keys'));
    app.expectFramesFit();
  });
});
