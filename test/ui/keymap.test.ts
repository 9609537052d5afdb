import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '../../src/ui/actions.js';
import { BINDINGS, dispatchKey, matchBinding, scopeLabel } from '../../src/ui/keymap.js';
import { computeLayout, windowStart } from '../../src/ui/layout.js';
import { editLine } from '../../src/ui/line-input.js';

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};
const key = (patch: Partial<Key>): Key => ({ ...NO_KEY, ...patch });

describe('keymap', () => {
  it('has the required ids, each once', () => {
    const ids = BINDINGS.map((binding) => binding.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'loop.prev',
      'loop.next',
      'loop.start',
      'loop.stop',
      'loop.pause',
      'loop.instruct',
      'loop.interrupt',
      'pane.next',
      'help.toggle',
      'app.quit',
    ]) {
      expect(ids).toContain(id);
    }
  });

  it('matches characters, arrows, enter, tab and ctrl+c', () => {
    expect(matchBinding('k', NO_KEY)?.id).toBe('loop.prev');
    expect(matchBinding('', key({ upArrow: true }))?.id).toBe('loop.prev');
    expect(matchBinding('j', NO_KEY)?.id).toBe('loop.next');
    expect(matchBinding('', key({ downArrow: true }))?.id).toBe('loop.next');
    expect(matchBinding('', key({ return: true }))?.id).toBe('loop.start');
    expect(matchBinding('', key({ tab: true }))?.id).toBe('pane.next');
    expect(matchBinding(':', NO_KEY)?.id).toBe('loop.instruct');
    expect(matchBinding('!', NO_KEY)?.id).toBe('loop.interrupt');
    expect(matchBinding('c', key({ ctrl: true }))?.id).toBe('app.quit');
  });

  it('does not take a modified or unknown key for a plain one', () => {
    expect(matchBinding('s', key({ ctrl: true }))).toBeUndefined();
    expect(matchBinding('c', NO_KEY)).toBeUndefined();
    expect(matchBinding('', key({ tab: true, shift: true }))).toBeUndefined();
  });
});

describe('editLine', () => {
  it('appends typed and pasted text on one line, without control characters', () => {
    expect(editLine('fix ', 'the\ntests\u0007', NO_KEY)).toEqual({ kind: 'edit', text: 'fix the tests' });
  });

  it('erases with backspace or delete, clears with ctrl+u', () => {
    expect(editLine('abc', '', key({ delete: true }))).toEqual({ kind: 'edit', text: 'ab' });
    expect(editLine('abc', '', key({ backspace: true }))).toEqual({ kind: 'edit', text: 'ab' });
    expect(editLine('abc', 'u', key({ ctrl: true }))).toEqual({ kind: 'edit', text: '' });
  });

  it('submits a chunk that ends in Enter, interior newlines as spaces', () => {
    expect(editLine('say ', 'hello\nworld\r', NO_KEY)).toEqual({ kind: 'submit', text: 'say hello world' });
    expect(editLine('', 'tmux text\n', NO_KEY)).toEqual({ kind: 'submit', text: 'tmux text' });
  });

  it('submits on enter and cancels on esc', () => {
    expect(editLine('go', '', key({ return: true }))).toEqual({ kind: 'submit', text: 'go' });
    expect(editLine('go', '', key({ escape: true, meta: true }))).toEqual({ kind: 'cancel' });
  });
});

describe('computeLayout', () => {
  const panes = (loops: number) => [
    { id: 'loops', minHeight: 3, grow: 0, max: loops + 2, prefer: 99 },
    { id: 'trace', minHeight: 5, grow: 3, max: Number.MAX_SAFE_INTEGER },
    { id: 'spend', minHeight: 5, grow: 1, max: Number.MAX_SAFE_INTEGER },
    { id: 'stalls', minHeight: 5, grow: 1, max: Number.MAX_SAFE_INTEGER },
  ];
  it.each([
    [24, 3],
    [40, 30],
    [12, 1],
    [8, 5],
    [100, 2],
  ])('stays shorter than a %i-row terminal with %i loops, and the parts add up', (rows, loops) => {
    for (const focus of ['loops', 'trace', 'stalls']) {
      const layout = computeLayout(rows, panes(loops), focus);
      expect(layout.height).toBeLessThan(Math.max(rows, 10));
      const sum = Object.values(layout.heights).reduce((a, b) => a + b, 0);
      expect(1 + sum + 2).toBe(layout.height);
      // The focused pane is drawn in full whenever the body has room for it and the loops pane.
      if (layout.body >= 3 + 5 + 2)
        expect(layout.heights[focus]).toBeGreaterThanOrEqual(focus === 'loops' ? 3 : 5);
    }
  });

  it('never gives the loops pane more rows than it has loops, and the rest to the trace', () => {
    const layout = computeLayout(40, panes(2), 'loops');
    expect(layout.heights.loops).toBe(4);
    expect(layout.heights.trace).toBeGreaterThan(layout.heights.spend ?? 0);
  });

  it('keeps the selected row inside the window', () => {
    expect(windowStart(0, 30, 6)).toBe(0);
    expect(windowStart(15, 30, 6)).toBe(12);
    expect(windowStart(29, 30, 6)).toBe(24);
    expect(windowStart(2, 3, 6)).toBe(0);
  });
});

describe('dispatchKey', () => {
  it('asks the overlay first, then the focused pane, then the global table', () => {
    expect(dispatchKey({ pane: 'loops' }, 'k', NO_KEY)?.id).toBe('loop.prev');
    expect(dispatchKey({ pane: 'trace' }, 'k', NO_KEY)?.id).toBe('trace.up');
    expect(dispatchKey({ pane: 'review' }, ']', NO_KEY)?.id).toBe('review.nextFile');
    expect(dispatchKey({ pane: 'trace' }, 's', NO_KEY)?.id).toBe('loop.stop');
    expect(dispatchKey({ pane: 'loops', overlay: 'approval' }, 'a', NO_KEY)?.id).toBe('approval.approve');
    // An overlay takes every key: a global binding does not act under it.
    expect(dispatchKey({ pane: 'loops', overlay: 'approval' }, 's', NO_KEY)).toBeUndefined();
    expect(dispatchKey({ pane: 'loops', overlay: 'confirm' }, 'y', NO_KEY)?.id).toBe('confirm.yes');
    expect(dispatchKey({ pane: 'loops' }, 'y', NO_KEY)).toBeUndefined();
  });

  it('has no two bindings of one scope on the same key', () => {
    const seen = new Set<string>();
    for (const binding of BINDINGS) {
      for (const k of binding.keys) {
        const id = `${scopeLabel(binding.scope)}:${k}`;
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
    }
  });

  it('has a handler for every binding', () => {
    for (const binding of BINDINGS) expect(typeof HANDLERS[binding.id]).toBe('function');
  });
});
