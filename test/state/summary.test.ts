import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/state/summary.js';
import { renderRunSummary, writeRunSummary } from '../../src/state/summary.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();

function summary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    loop: 'fix-tests',
    run: '20261124-071502-a3f9',
    trigger: 'cron 0 7 * * 1-5',
    outcome: 'budget',
    reason: 'usd budget reached',
    startedAt: '2026-11-24T07:15:02.000Z',
    endedAt: '2026-11-24T07:17:07.000Z',
    iterations: 2,
    toolCalls: 17,
    usage: { input: 12345, output: 678, cacheRead: 90000, cacheWrite: 1200 },
    spend: { usd: 2.0412, unpricedCalls: 0 },
    base: 'main',
    baseSha: '0123456789abcdef0123456789abcdef01234567',
    branch: 'loops/fix-tests/20261124-071502-a3f9',
    worktree: '/repo/.loops/worktrees/fix-tests/20261124-071502-a3f9',
    budget: { cap: 'usd', limit: 2, used: 2.0412 },
    graders: [
      { iteration: 2, name: 'npm test', passed: false, feedback: '1 failing: a | b\nsecond line' },
      { iteration: 1, name: 'npm test', passed: false, feedback: '3 failing' },
      { iteration: 2, name: 'rubric', passed: true, score: 0.85, feedback: 'clear' },
    ],
    ...overrides,
  };
}

describe('renderRunSummary', () => {
  it('shows the dollars, and says how many calls could not be priced rather than calling them free', () => {
    expect(renderRunSummary(summary())).toContain('| spend | $2.0412 |');
    const partly = renderRunSummary(summary({ spend: { usd: 0.5, unpricedCalls: 3 } }));
    expect(partly).toContain('| spend | $0.5000 + 3 unpriced calls |');
  });

  it('states the outcome, spend, budget and where the work is', () => {
    const text = renderRunSummary(summary());
    expect(text.startsWith('# fix-tests: run 20261124-071502-a3f9\n')).toBe(true);
    expect(text).toContain('| outcome | **budget reached (not verified)**: usd budget reached |');
    expect(text).toContain('| trigger | cron 0 7 * * 1-5 |');
    expect(text).toContain('| ended | 2026-11-24T07:17:07.000Z (2m 5s) |');
    expect(text).toContain('| iterations | 2 |');
    expect(text).toContain('| tool calls | 17 |');
    expect(text).toContain('| tokens | 12,345 in, 678 out, 90,000 cache read, 1,200 cache write |');
    expect(text).toContain('| budget | usd: used $2.04 of $2.00 |');
    expect(text).toContain('| branch | `loops/fix-tests/20261124-071502-a3f9` |');
    expect(text).toContain('| base | `main` at `0123456789ab` |');
    expect(text).toContain('| worktree | `/repo/.loops/worktrees/fix-tests/20261124-071502-a3f9` |');
  });

  it('has a grader table by iteration, with cells kept to one line', () => {
    const text = renderRunSummary(summary());
    const table = text.slice(text.indexOf('## Graders'));
    expect(table.split('\n').slice(2, 7)).toEqual([
      '| iteration | grader | result | score | feedback |',
      '|---:|---|---|---:|---|',
      '| 1 | npm test | fail |  | 3 failing |',
      '| 2 | npm test | fail |  | 1 failing: a \\| b second line |',
      '| 2 | rubric | pass | 0.85 | clear |',
    ]);
  });

  it('never calls a budget-limited run done, and says so plainly when verified', () => {
    expect(renderRunSummary(summary())).not.toMatch(/\*\*verified/);
    const verified = renderRunSummary(summary({ outcome: 'verified', reason: 'all graders passed', budget: undefined }));
    expect(verified).toContain('| outcome | **verified**: all graders passed |');
    expect(verified).not.toContain('| budget |');
  });

  it('says when no grader ran, and shortens long feedback', () => {
    expect(renderRunSummary(summary({ graders: [] }))).toContain('## Graders\n\nNo grader ran.\n');
    const long = renderRunSummary(
      summary({ graders: [{ iteration: 1, name: 'lint', passed: false, feedback: 'x'.repeat(1000) }] }),
    );
    expect(long).toContain(`| ${'x'.repeat(159)}… |`);
  });
});

describe('writeRunSummary', () => {
  it('writes the rendered summary atomically', async () => {
    const file = path.join(tmp.path, 'fix-tests', 'runs', '20261124-071502-a3f9.md');
    await writeRunSummary(file, summary());
    expect(await readFile(file, 'utf8')).toBe(renderRunSummary(summary()));
    expect(await readdir(path.dirname(file))).toEqual(['20261124-071502-a3f9.md']);
  });
});
