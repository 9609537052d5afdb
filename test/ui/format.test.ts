import { describe, expect, it } from 'vitest';
import { formatUsd } from '../../src/ui/format.js';

describe('formatUsd', () => {
  it('never shows an unpriced run as $0', () => {
    expect(formatUsd(0, true)).toBe('unpriced');
    expect(formatUsd(0.1234, true)).toBe('$0.123+?');
  });

  it('shows cents under a dollar with three places and dollars with two', () => {
    expect(formatUsd(0, false)).toBe('$0.00');
    expect(formatUsd(0.0042, false)).toBe('$0.004');
    expect(formatUsd(12.345, false)).toBe('$12.35');
  });
});
