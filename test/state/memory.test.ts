import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MemoryDoc } from '../../src/state/memory.js';
import { parseMemory, readMemory, renderMemory, writeMemory } from '../../src/state/memory.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();
const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

function doc(overrides: Partial<MemoryDoc> = {}): MemoryDoc {
  return {
    goal: 'Keep the unit tests green.',
    progress: ['iteration 1: fixed parser test', 'iteration 2: fixed date test'],
    lastFeedback: 'npm test: 3 passed, 1 failed (test/x.test.ts)',
    corrections: ['do not touch package.json'],
    notes: 'The flaky test is in test/net.',
    ...overrides,
  };
}

describe('renderMemory', () => {
  it('writes the five sections in order', () => {
    const text = renderMemory(doc(), 10_000);
    expect(text).toBe(
      [
        '# Memory',
        '',
        '## Goal',
        '',
        'Keep the unit tests green.',
        '',
        '## Progress',
        '',
        '- iteration 1: fixed parser test',
        '- iteration 2: fixed date test',
        '',
        '## Last feedback',
        '',
        'npm test: 3 passed, 1 failed (test/x.test.ts)',
        '',
        '## Human corrections',
        '',
        '- do not touch package.json',
        '',
        '## Notes',
        '',
        'The flaky test is in test/net.',
        '',
      ].join('\n'),
    );
  });

  it('folds the oldest iterations first to stay under the cap, keeping the newest', () => {
    const progress = Array.from({ length: 500 }, (_, i) => `iteration ${i + 1}: tried approach ${i + 1}, tests still red`);
    const text = renderMemory(doc({ progress }), 4000);
    expect(bytes(text)).toBeLessThanOrEqual(4000);
    const parsed = parseMemory(text);
    const marker = /^\((\d+) earlier iterations folded\)$/.exec(parsed.progress[0] ?? '');
    expect(marker).not.toBeNull();
    const folded = Number(marker?.[1]);
    expect(parsed.progress.slice(1)).toEqual(progress.slice(folded));
    expect(parsed.progress.at(-1)).toBe(progress.at(-1));
    // Nothing else had to give.
    expect(parsed.lastFeedback).toBe(doc().lastFeedback);
    expect(parsed.goal).toBe(doc().goal);
    // And it folds no more than it must: one more entry would not fit.
    const oneMore = renderMemory(doc({ progress: [`(${folded - 1} earlier iterations folded)`, ...progress.slice(folded - 1)] }), 1e9);
    expect(bytes(oneMore)).toBeGreaterThan(4000);
  });

  it('adds to an earlier fold instead of nesting markers', () => {
    const first = parseMemory(renderMemory(doc({ progress: Array.from({ length: 100 }, (_, i) => `step ${i}`) }), 1200));
    const foldedBefore = Number(/^\((\d+)/.exec(first.progress[0] ?? '')?.[1]);
    expect(foldedBefore).toBeGreaterThan(0);
    const next = parseMemory(renderMemory({ ...first, progress: [...first.progress, 'step 100', 'step 101'] }, 1200));
    const foldedAfter = Number(/^\((\d+)/.exec(next.progress[0] ?? '')?.[1]);
    expect(next.progress.filter((p) => p.includes('folded'))).toHaveLength(1);
    expect(foldedAfter + next.progress.length - 1).toBe(102);
    expect(next.progress.at(-1)).toBe('step 101');
  });

  it('measures bytes, not characters', () => {
    const progress = Array.from({ length: 200 }, (_, i) => `itération ${i}: 🚀 résumé — ✓`);
    const text = renderMemory(doc({ progress }), 3000);
    expect(bytes(text)).toBeLessThanOrEqual(3000);
    expect(text.length).toBeLessThan(3000);
  });

  it('cuts the feedback once all progress is folded, then the notes', () => {
    // The feedback goes entirely (it is cut first); the notes only as far as needed.
    const text = renderMemory(
      doc({ progress: ['a', 'b'], lastFeedback: 'F'.repeat(5000), notes: 'N'.repeat(5000) }),
      2000,
    );
    expect(bytes(text)).toBeLessThanOrEqual(2000);
    const parsed = parseMemory(text);
    expect(parsed.progress).toEqual(['(2 earlier iterations folded)']);
    expect(parsed.lastFeedback).toBe('(cut to fit the memory size cap)');
    expect(parsed.notes).toMatch(/^N{1000,} … \(cut to fit the memory size cap\)$/);
    expect(parsed.goal).toBe(doc().goal);
    expect(parsed.corrections).toEqual(doc().corrections);
  });

  it('never cuts a character in half', () => {
    const text = renderMemory(doc({ progress: [], lastFeedback: 'é'.repeat(3000), notes: '' }), 1500);
    expect(bytes(text)).toBeLessThanOrEqual(1500);
    expect(text).not.toContain('\uFFFD');
  });

  it('keeps the goal and the newest human corrections above their minimum, even over the cap', () => {
    const goal = 'G'.repeat(3000);
    const corrections = Array.from({ length: 10 }, (_, i) => `correction ${i}: ${'c'.repeat(100)}`);
    const text = renderMemory(doc({ goal, corrections, progress: [], lastFeedback: '', notes: '' }), 600);
    const parsed = parseMemory(text);
    expect(parsed.goal).toMatch(/^G{1024} … \(cut to fit the memory size cap\)$/);
    expect(parsed.corrections.slice(1)).toEqual(corrections.slice(-3));
    expect(parsed.corrections[0]).toBe('(7 earlier corrections folded)');
  });

  it('cuts a long goal down to fit when everything else is gone', () => {
    const goal = 'G'.repeat(6000);
    const text = renderMemory(doc({ goal, progress: [], lastFeedback: '', notes: '', corrections: [] }), 3000);
    expect(bytes(text)).toBeLessThanOrEqual(3000);
    expect(parseMemory(text).goal).toMatch(/^G{2000,} … \(cut to fit the memory size cap\)$/);
  });

  it('refuses a cap that is not a positive number', () => {
    expect(() => renderMemory(doc(), 0)).toThrow(RangeError);
  });
});

describe('parseMemory', () => {
  it('round-trips what renderMemory writes', () => {
    const original = doc({
      goal: 'Fix the build.\n\nSecond paragraph with a list:\n- one\n- two',
      progress: ['iteration 1: multi-line\nsecond line\n\nafter a blank', 'iteration 2: ok'],
      lastFeedback: 'FAIL test/a.test.ts\n## Notes\nexpected 1, got 2',
      corrections: ['use pnpm, not npm', 'stop editing\nthe lockfile'],
      notes: 'Some notes\n## Ideas\n- try caching',
    });
    expect(parseMemory(renderMemory(original, 100_000))).toEqual(original);
  });

  it('round-trips empty sections', () => {
    const empty: MemoryDoc = { goal: '', progress: [], lastFeedback: '', corrections: [], notes: '' };
    expect(renderMemory(empty, 1000)).toContain('## Progress\n\n_(none)_\n');
    expect(parseMemory(renderMemory(empty, 1000))).toEqual(empty);
  });

  it('round-trips a capped document to a stable text', () => {
    const progress = Array.from({ length: 300 }, (_, i) => `iteration ${i}`);
    const once = renderMemory(doc({ progress }), 2500);
    const twice = renderMemory(parseMemory(once), 2500);
    expect(twice).toBe(once);
  });

  it('tolerates hand edits', () => {
    const edited = [
      'Some words someone put on top.',
      '',
      '##   goal  ',
      'Ship it.',
      '## PROGRESS',
      '* first',
      '1. second',
      '   continued',
      '## Human Corrections',
      '+ be careful',
      '## Notes',
      'n1',
      '## Notes',
      'n2',
      '\r',
    ].join('\r\n');
    expect(parseMemory(edited)).toEqual({
      goal: 'Ship it.',
      progress: ['first', 'second\n continued'],
      lastFeedback: '',
      corrections: ['be careful'],
      notes: 'Some words someone put on top.\n\nn1\n\nn2',
    });
  });

  it('keeps plain text with no sections as notes', () => {
    expect(parseMemory('just some text\nmore')).toEqual({
      goal: '',
      progress: [],
      lastFeedback: '',
      corrections: [],
      notes: 'just some text\nmore',
    });
  });
});

describe('readMemory / writeMemory', () => {
  it('writes atomically, returns the byte size and reads it back', async () => {
    const file = path.join(tmp.path, 'fix-tests', 'MEMORY.md');
    const size = await writeMemory(file, doc(), 8192);
    const text = await readFile(file, 'utf8');
    expect(size).toBe(bytes(text));
    expect(await readMemory(file)).toEqual(doc());
    expect(await readdir(path.dirname(file))).toEqual(['MEMORY.md']);
  });

  it('returns null when there is no memory yet', async () => {
    expect(await readMemory(path.join(tmp.path, 'MEMORY.md'))).toBeNull();
  });

  it('reads a hand-written file', async () => {
    const file = path.join(tmp.path, 'MEMORY.md');
    await writeFile(file, '# Memory\n\n## Goal\n\nBe brief.\n');
    expect(await readMemory(file)).toMatchObject({ goal: 'Be brief.', progress: [] });
  });
});
