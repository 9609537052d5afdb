import { describe, expect, it } from 'vitest';
import { fieldName, formatProblem } from '../../src/core/definition/problems.js';

describe('problems', () => {
  it('formats file:line: field: message', () => {
    expect(formatProblem({ file: 'loops/a/LOOP.md', line: 7, field: 'budget.usd', message: 'bad' })).toBe(
      'loops/a/LOOP.md:7: budget.usd: bad',
    );
  });

  it('names fields with dots and list indexes', () => {
    expect(fieldName(['verify', 0, 'metric', 'command'])).toBe('verify[0].metric.command');
    expect(fieldName(['approve', 2])).toBe('approve[2]');
    expect(fieldName([])).toBe('(front matter)');
  });
});
