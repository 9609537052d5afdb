import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandGraderSchema } from '../../src/core/definition/schema.js';
import { createCommandGrader, tailOf } from '../../src/core/verify/command.js';
import { tempDir } from '../tools/temp-dir.js';
import { gradeContext } from './context.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('grader'));
});
afterEach(() => cleanup());

const config = (input: Record<string, unknown>) => commandGraderSchema.parse(input);

async function writeTests(failing: number): Promise<void> {
  const cases = [
    "test('adds', () => assert.equal(1 + 1, 2));",
    "test('subtracts', () => assert.equal(3 - 1, 2));",
    ...Array.from(
      { length: failing },
      (_, i) => `test('broken ${i}', () => assert.equal(1, 2, 'expected one to be two'));`,
    ),
  ];
  await writeFile(
    path.join(dir, 'math.test.mjs'),
    ["import test from 'node:test';", "import assert from 'node:assert/strict';", ...cases].join('\n'),
  );
}

describe('the command grader', () => {
  it('is named for its command unless named, and keeps holdout', () => {
    const plain = createCommandGrader(config({ command: 'npm test' }), 0);
    expect([plain.name, plain.kind, plain.holdout]).toEqual(['command: npm test', 'command', false]);
    const named = createCommandGrader(config({ command: 'npm test', name: 'unit', holdout: true }), 1);
    expect([named.name, named.holdout]).toEqual(['unit', true]);
  });

  it('passes on exit 0 with the test counts of a node:test run', async () => {
    await writeTests(0);
    const grader = createCommandGrader(config({ command: 'node --test' }), 0);
    const verdict = await grader.grade(gradeContext(dir));
    expect(verdict).toMatchObject({
      name: 'command: node --test',
      kind: 'command',
      passed: true,
      tests: { passed: 2, failed: 0 },
    });
    expect(verdict.error).toBeUndefined();
    expect(verdict.feedback.startsWith('$ node --test\nexit code 0 (passed)')).toBe(true);
    expect(verdict.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('fails on a non-zero exit with the tail of the output as feedback', async () => {
    await writeTests(1);
    const grader = createCommandGrader(config({ command: 'node --test' }), 0);
    const verdict = await grader.grade(gradeContext(dir));
    expect(verdict.passed).toBe(false);
    expect(verdict.tests).toEqual({ passed: 2, failed: 1 });
    expect(verdict.error).toBeUndefined();
    expect(verdict.feedback.startsWith('$ node --test\nexit code 1\n')).toBe(true);
    expect(verdict.feedback).toContain('expected one to be two');
  });

  it('gives the failing tests as feedback, not the passing ones, and scores the share passing', async () => {
    await writeTests(2);
    const grader = createCommandGrader(config({ command: 'node --test' }), 0);
    const verdict = await grader.grade(gradeContext(dir));
    expect(verdict.score).toBeCloseTo(0.5);
    expect(verdict.feedback).toContain('tests: 2 passed, 2 failed\nFailures:\nnot ok - broken 0');
    expect(verdict.feedback).toContain('not ok - broken 1');
    expect(verdict.feedback).not.toContain('ok 1 - adds');
    expect(verdict.feedback).not.toContain('duration_ms: ');
    // The runner's summary still closes the feedback.
    expect(verdict.feedback).toMatch(/Last lines of the output:\n[\s\S]*# fail 2/);
  });

  it('says how the test counts moved since the last iteration', async () => {
    const grader = createCommandGrader(config({ command: 'node --test' }), 0);
    await writeTests(2);
    await grader.grade(gradeContext(dir));
    await writeTests(1);
    const better = await grader.grade(gradeContext(dir));
    expect(better.feedback).toContain(
      'tests: 2 passed, 1 failed (last iteration: 2 passed, 2 failed; progress)',
    );
    const same = await grader.grade(gradeContext(dir));
    expect(same.feedback).toContain('(last iteration: 2 passed, 1 failed; no change)');
    await writeTests(3);
    const worse = await grader.grade(gradeContext(dir));
    expect(worse.feedback).toContain('tests: 2 passed, 3 failed (last iteration: 2 passed, 1 failed; worse)');
  });

  it('fails with an error when the command times out', async () => {
    const grader = createCommandGrader(config({ command: 'echo working; sleep 60', timeout: 0.5 }), 2);
    const verdict = await grader.grade(gradeContext(dir));
    expect(verdict.passed).toBe(false);
    expect(verdict.error).toContain('verify[2] (echo working; sleep 60) timed out after 0.5s');
    expect(verdict.feedback).toContain('working');
  });

  it('fails with an error when the command cannot start', async () => {
    const grader = createCommandGrader(config({ command: 'true' }), 0);
    const verdict = await grader.grade(gradeContext(path.join(dir, 'gone')));
    expect(verdict.passed).toBe(false);
    expect(verdict.error).toContain('does not exist');
  });

  it('keeps feedback compact: the last lines, marked as cut', async () => {
    const grader = createCommandGrader(config({ command: 'seq 1 5000; exit 1' }), 0);
    const verdict = await grader.grade(gradeContext(dir));
    expect(verdict.feedback).toMatch(/\n5000$/);
    expect(verdict.feedback).not.toContain('\n4940\n');
    expect(verdict.feedback).toContain('\n4941\n');
    expect(verdict.feedback).toMatch(/\[… \d+ chars before this\]/);
  });
});

describe('tailOf', () => {
  it('keeps the last lines within the character limit', () => {
    expect(tailOf('a\nb\nc\n', 2, 100)).toBe('[… 2 chars before this]\nb\nc');
    expect(tailOf('a\nb', 5, 100)).toBe('a\nb');
    expect(tailOf('xxxxxxxxxx', 5, 4)).toBe('[… 6 chars before this]\nxxxx');
  });
});
