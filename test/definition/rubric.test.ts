import { describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { parseRubric } from '../../src/core/definition/rubric.js';
import { expectProblem, lines, problemsOf, tempRepo } from './helpers.js';

describe('parseRubric', () => {
  it('reads "## criterion" sections: the heading names it, the section is its text', () => {
    const text = lines(
      '# Rubric',
      'Intro that is not a criterion.',
      '## Correct',
      'The tests pass.',
      '',
      'No test was deleted.',
      '## Small ##',
      '<!-- a note for people -->',
      'One change.',
      '## Named only',
    );
    expect(parseRubric(text)).toEqual([
      { name: 'Correct', text: 'The tests pass.\n\nNo test was deleted.' },
      { name: 'Small', text: 'One change.' },
      { name: 'Named only', text: 'Named only' },
    ]);
  });

  it('reads one criterion per line without ## headings, skipping the title, comments and bullets', () => {
    const text = lines(
      '# Rubric for fix-tests',
      '<!-- One criterion per line.',
      'This comment spans lines. -->',
      '- The tests pass.',
      '',
      '* The change is small.',
      'Plain line criterion.',
      '3. Numbered criterion.',
    );
    expect(parseRubric(text).map((criterion) => criterion.text)).toEqual([
      'The tests pass.',
      'The change is small.',
      'Plain line criterion.',
      'Numbered criterion.',
    ]);
  });

  it('keeps a first line that is not a title', () => {
    expect(parseRubric('First criterion\nSecond\n').map((criterion) => criterion.name)).toEqual([
      'First criterion',
      'Second',
    ]);
  });

  it('finds nothing in a file of only a title and comments', () => {
    expect(parseRubric('# Rubric\n<!-- todo -->\n\n')).toEqual([]);
  });
});

describe('rubrics of a loop', () => {
  it('loads RUBRIC.md when it exists, even without a rubric grader', async () => {
    const root = await tempRepo({
      'loops/fix-tests/LOOP.md': lines('---', 'name: fix-tests', '---', 'x'),
      'loops/fix-tests/RUBRIC.md': lines('## Correct', 'Tests pass.'),
    });
    const result = await loadLoop(root, 'fix-tests');
    expect(result.ok && result.definition.rubric).toEqual({
      path: 'loops/fix-tests/RUBRIC.md',
      criteria: [{ name: 'Correct', text: 'Tests pass.' }],
    });
  });

  it('prefers the file a rubric grader names, relative to the loop folder', async () => {
    const root = await tempRepo({
      'loops/fix-tests/LOOP.md': lines(
        '---',
        'name: fix-tests',
        'verify:',
        '  - rubric: judges/strict.md',
        '---',
        'x',
      ),
      'loops/fix-tests/judges/strict.md': '- Strict criterion\n',
      'loops/fix-tests/RUBRIC.md': '- Default criterion\n',
    });
    const result = await loadLoop(root, 'fix-tests');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.definition.rubric).toEqual({
      path: 'loops/fix-tests/judges/strict.md',
      criteria: [{ name: 'Strict criterion', text: 'Strict criterion' }],
    });
  });

  it('accepts a rubric shared from elsewhere in the repository', async () => {
    const root = await tempRepo({
      'loops/fix-tests/LOOP.md': lines(
        '---',
        'name: fix-tests',
        'verify:',
        '  - rubric: ../../shared/RUBRIC.md',
        '---',
        'x',
      ),
      'shared/RUBRIC.md': '- Shared\n',
    });
    const result = await loadLoop(root, 'fix-tests');
    expect(result.ok && result.definition.rubric?.path).toBe('shared/RUBRIC.md');
  });

  it('reports a rubric with no criteria at its first line', async () => {
    const root = await tempRepo({
      'loops/fix-tests/LOOP.md': lines('---', 'name: fix-tests', '---', 'x'),
      'loops/fix-tests/RUBRIC.md': '# Rubric\n\n<!-- fill me in -->\n',
    });
    expectProblem(problemsOf(await loadLoop(root, 'fix-tests')), {
      field: '(rubric)',
      line: 1,
      file: 'loops/fix-tests/RUBRIC.md',
      message: 'no criteria',
    });
  });
});
