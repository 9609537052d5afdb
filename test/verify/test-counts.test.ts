import { describe, expect, it } from 'vitest';
import { parseTestCounts } from '../../src/core/verify/test-counts.js';

describe('parseTestCounts', () => {
  it('reads vitest, not its Test Files line', () => {
    const out =
      ' Test Files  1 failed | 2 passed (3)\n      Tests  3 failed | 5 passed | 1 skipped (9)\n   Start at  10:00';
    expect(parseTestCounts(out)).toEqual({ passed: 5, failed: 3 });
    expect(parseTestCounts('      Tests  12 passed (12)')).toEqual({ passed: 12, failed: 0 });
  });

  it('reads vitest through colour codes', () => {
    const out =
      '\u001b[2m      Tests \u001b[22m \u001b[1m\u001b[31m1 failed\u001b[39m\u001b[22m\u001b[2m | \u001b[22m\u001b[1m\u001b[32m4 passed\u001b[39m\u001b[22m\u001b[90m (5)\u001b[39m';
    expect(parseTestCounts(out)).toEqual({ passed: 4, failed: 1 });
  });

  it('reads node:test TAP and spec summaries', () => {
    expect(parseTestCounts('# tests 6\n# suites 0\n# pass 5\n# fail 1\n# cancelled 0')).toEqual({
      passed: 5,
      failed: 1,
    });
    expect(parseTestCounts('ℹ tests 2\nℹ pass 2\nℹ fail 0\n')).toEqual({ passed: 2, failed: 0 });
  });

  it('reads jest', () => {
    expect(
      parseTestCounts('Test Suites: 1 failed, 1 total\nTests:       1 failed, 5 passed, 6 total\n'),
    ).toEqual({
      passed: 5,
      failed: 1,
    });
  });

  it('reads pytest, counting errors as failures', () => {
    expect(parseTestCounts('===== 1 failed, 5 passed, 1 error in 0.12s =====')).toEqual({
      passed: 5,
      failed: 2,
    });
    expect(parseTestCounts('5 passed in 0.10s')).toEqual({ passed: 5, failed: 0 });
  });

  it('reads mocha, cargo (summed over binaries) and go test -v', () => {
    expect(parseTestCounts('  5 passing (20ms)\n  1 failing\n')).toEqual({ passed: 5, failed: 1 });
    expect(
      parseTestCounts(
        'test result: ok. 3 passed; 0 failed; 0 ignored\ntest result: FAILED. 2 passed; 1 failed; 0 ignored',
      ),
    ).toEqual({ passed: 5, failed: 1 });
    expect(parseTestCounts('=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\nFAIL')).toEqual({
      passed: 1,
      failed: 1,
    });
  });

  it('finds nothing in output without a summary', () => {
    expect(parseTestCounts('compiled 3 files\nall good')).toBeUndefined();
    expect(parseTestCounts('')).toBeUndefined();
  });
});
