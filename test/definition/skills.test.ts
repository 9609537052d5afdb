import { describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { expectProblem, lines, problemsOf, tempRepo } from './helpers.js';

const LOOP = { 'loops/fix-tests/LOOP.md': lines('---', 'name: fix-tests', '---', 'Fix the tests.') };

describe('skills', () => {
  it('loads the loop SKILL.md first, then skills/*/SKILL.md in folder order', async () => {
    const root = await tempRepo({
      ...LOOP,
      'loops/fix-tests/SKILL.md': lines(
        '---',
        'name: fix-tests',
        'description: How to fix tests here.',
        '---',
        '',
        '# Fixing',
        'Run npm test.',
      ),
      'loops/fix-tests/skills/zz-style/SKILL.md': lines(
        '---',
        'name: zz-style',
        'description: The code style.',
        'license: MIT',
        'compatibility: node 20',
        'metadata: { author: team }',
        'allowed-tools: read_file run',
        '---',
        'Two spaces.',
      ),
      'loops/fix-tests/skills/git/SKILL.md': lines(
        '---',
        'name: git',
        'description: Git habits.',
        '---',
        'Small commits.',
      ),
      'loops/fix-tests/skills/empty-folder/notes.txt': 'no SKILL.md here\n',
    });
    const result = await loadLoop(root, 'fix-tests');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.definition.skills).toEqual([
      {
        name: 'fix-tests',
        description: 'How to fix tests here.',
        path: 'loops/fix-tests/SKILL.md',
        body: '# Fixing\nRun npm test.',
      },
      {
        name: 'git',
        description: 'Git habits.',
        path: 'loops/fix-tests/skills/git/SKILL.md',
        body: 'Small commits.',
      },
      {
        name: 'zz-style',
        description: 'The code style.',
        path: 'loops/fix-tests/skills/zz-style/SKILL.md',
        body: 'Two spaces.',
      },
    ]);
  });

  it('reports a loop SKILL.md whose name is not the loop folder, at the SKILL.md line', async () => {
    const root = await tempRepo({
      ...LOOP,
      'loops/fix-tests/SKILL.md': lines('---', 'description: d', 'name: testing', '---', 'x'),
    });
    expectProblem(problemsOf(await loadLoop(root, 'fix-tests')), {
      field: 'name',
      line: 3,
      file: 'loops/fix-tests/SKILL.md',
      message: 'must equal the name of the skill\'s folder, "fix-tests"',
    });
  });

  it('reports a skill whose name is not its folder', async () => {
    const root = await tempRepo({
      ...LOOP,
      'loops/fix-tests/skills/git/SKILL.md': lines('---', 'name: gitt', 'description: d', '---', 'x'),
    });
    expectProblem(problemsOf(await loadLoop(root, 'fix-tests')), {
      field: 'name',
      line: 2,
      file: 'loops/fix-tests/skills/git/SKILL.md',
      message: '"git"',
    });
  });

  it('reports a missing description, a too long one and an unknown key, each at its line', async () => {
    const root = await tempRepo({
      ...LOOP,
      'loops/fix-tests/skills/a/SKILL.md': lines('---', 'name: a', '---', 'x'),
      'loops/fix-tests/skills/b/SKILL.md': lines(
        '---',
        'name: b',
        `description: ${'y'.repeat(1025)}`,
        '---',
        'x',
      ),
      'loops/fix-tests/skills/c/SKILL.md': lines(
        '---',
        'name: c',
        'description: d',
        'version: 2',
        '---',
        'x',
      ),
    });
    const problems = problemsOf(await loadLoop(root, 'fix-tests'));
    const byFile = (file: string) => problems.filter((problem) => problem.file === file);
    expectProblem(byFile('loops/fix-tests/skills/a/SKILL.md'), {
      field: 'description',
      line: 2,
      message: 'required',
    });
    expectProblem(byFile('loops/fix-tests/skills/b/SKILL.md'), {
      field: 'description',
      line: 3,
      message: 'at most 1024 characters long (it has 1025)',
    });
    expectProblem(byFile('loops/fix-tests/skills/c/SKILL.md'), {
      field: 'version',
      line: 4,
      message:
        'unknown key "version" (allowed keys: name, description, license, compatibility, metadata, allowed-tools)',
    });
  });

  it('reports an empty description', async () => {
    const root = await tempRepo({
      ...LOOP,
      'loops/fix-tests/SKILL.md': lines('---', 'name: fix-tests', 'description: ""', '---', 'x'),
    });
    expectProblem(problemsOf(await loadLoop(root, 'fix-tests')), {
      field: 'description',
      line: 3,
      message: 'must not be empty',
    });
  });

  it('reports a SKILL.md without front matter', async () => {
    const root = await tempRepo({ ...LOOP, 'loops/fix-tests/SKILL.md': '# Just markdown\n' });
    expectProblem(problemsOf(await loadLoop(root, 'fix-tests')), {
      field: '(front matter)',
      line: 1,
      file: 'loops/fix-tests/SKILL.md',
    });
  });

  it('reports skill problems together with LOOP.md problems, LOOP.md first', async () => {
    const root = await tempRepo({
      'loops/fix-tests/LOOP.md': lines('---', 'name: fix-tests', 'budget: { usd: 0 }', '---', 'x'),
      'loops/fix-tests/SKILL.md': lines('---', 'name: fix-tests', '---', 'x'),
    });
    const problems = problemsOf(await loadLoop(root, 'fix-tests'));
    expect(problems.map(formatProblem)).toEqual([
      'loops/fix-tests/LOOP.md:3: budget.usd: expected a positive number, got 0',
      'loops/fix-tests/SKILL.md:2: description: required, but missing',
    ]);
  });
});
