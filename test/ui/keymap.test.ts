import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { BINDINGS, matchBinding } from '../../src/ui/keymap.js';
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

  it('submits on enter and cancels on esc', () => {
    expect(editLine('go', '', key({ return: true }))).toEqual({ kind: 'submit', text: 'go' });
    expect(editLine('go', '', key({ escape: true, meta: true }))).toEqual({ kind: 'cancel' });
  });
});

describe('computeLayout', () => {
  it.each([
    [24, 3],
    [40, 30],
    [12, 1],
  ])('stays shorter than a %i-row terminal with %i loops, and the parts add up', (rows, loops) => {
    const layout = computeLayout(rows, loops);
    expect(layout.height).toBeLessThan(rows);
    expect(1 + layout.loopsHeight + layout.traceHeight + 2).toBe(layout.height);
    expect(layout.loopRows).toBeLessThanOrEqual(loops);
    expect(layout.traceLines).toBeGreaterThanOrEqual(1);
  });

  it('keeps the selected row inside the window', () => {
    expect(windowStart(0, 30, 6)).toBe(0);
    expect(windowStart(15, 30, 6)).toBe(12);
    expect(windowStart(29, 30, 6)).toBe(24);
    expect(windowStart(2, 3, 6)).toBe(0);
  });
});
