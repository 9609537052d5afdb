import { describe, expect, it } from 'vitest';
import type { GraderVerdict } from '../../src/core/events.js';
import { clipHead, clipMiddle, fairShares } from '../../src/core/verify/clip.js';
import type { Grader } from '../../src/core/verify/grader.js';
import { FEEDBACK_CHARS, feedbackFrom } from '../../src/core/verify/index.js';

function graded(name: string, passed: boolean, feedback: string, holdout = false) {
  const grader: Grader = {
    name,
    kind: 'command',
    holdout,
    grade: () => Promise.reject(new Error('not graded here')),
  };
  const verdict: GraderVerdict = { name, kind: 'command', passed, feedback, durationMs: 1 };
  return { grader, verdict };
}

describe('feedbackFrom', () => {
  it('holds the failing graders only, never a holdout grader, with errors and notes first', () => {
    const failing = graded('unit', false, 'formatPrice is wrong');
    failing.verdict.error = 'verify[0]: timed out';
    const text = feedbackFrom(
      [failing, graded('lint', true, 'all clean'), graded('secret', false, 'HOLDOUT-ONLY-FINDING', true)],
      new Map([[failing.grader, 'Regression: passed on iteration 1']]),
    );
    expect(text).toBe(
      '## unit failed\nRegression: passed on iteration 1\nerror: verify[0]: timed out\nformatPrice is wrong',
    );
    expect(text).not.toContain('HOLDOUT-ONLY-FINDING');
    expect(text).not.toContain('lint');
  });

  it('stays within its size, keeping a short finding whole and cutting the long ones fairly', () => {
    const short = graded('short', false, 'one line');
    const long1 = graded('long1', false, `A-start ${'a'.repeat(20_000)} A-end`);
    const long2 = graded('long2', false, `B-start ${'b'.repeat(9_000)} B-end`);
    const text = feedbackFrom([long1, short, long2]);
    expect(text.length).toBeLessThanOrEqual(FEEDBACK_CHARS);
    expect(text).toContain('## short failed\none line');
    for (const marker of ['A-start', 'A-end', 'B-start', 'B-end']) expect(text).toContain(marker);
    const aCount = (text.match(/a/g) ?? []).length;
    const bCount = (text.match(/b/g) ?? []).length;
    expect(Math.abs(aCount - bCount)).toBeLessThan(50);
  });
});

describe('clipping', () => {
  it('fairShares gives small parts what they need and splits the rest', () => {
    expect(fairShares([10, 1000, 1000], 610)).toEqual([10, 300, 300]);
    expect(fairShares([10, 20], 100)).toEqual([10, 20]);
  });

  it('clipHead and clipMiddle stay within the size and say what was cut', () => {
    const text = 'x'.repeat(1000);
    expect(clipHead(text, 100).length).toBeLessThanOrEqual(100);
    expect(clipHead(text, 100)).toMatch(/\[… \d+ more chars cut\]$/);
    const middle = clipMiddle(`HEAD${'x'.repeat(1000)}TAIL`, 100);
    expect(middle.length).toBeLessThanOrEqual(100);
    expect(middle.startsWith('HEAD')).toBe(true);
    expect(middle.endsWith('TAIL')).toBe(true);
    expect(clipMiddle('short', 100)).toBe('short');
  });
});
