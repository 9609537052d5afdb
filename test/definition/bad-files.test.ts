/**
 * One bad file never blocks another loop: each attack on one loop's files (an alias bomb, a pipe, a
 * huge or binary file, custom tags, a symlink from outside) is that loop's problem, at its file and
 * line, while a good loop beside it still loads.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DEFINITION_BYTES } from '../../src/core/definition/files.js';
import { loadAllLoops, loadLoop, type LoadResult } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { lines, problemsOf, tempRepo } from './helpers.js';

const GOOD = { 'loops/good/LOOP.md': lines('---', 'name: good', '---', 'Do good work.') };

/** Nine aliases of nine aliases, seven deep: a few hundred bytes that would expand to 9^7 strings. */
function aliasBomb(): string[] {
  const rows = [`a: &a ["x","x","x","x","x","x","x","x","x"]`];
  for (const [prev, next] of [
    ['a', 'b'],
    ['b', 'c'],
    ['c', 'd'],
    ['d', 'e'],
    ['e', 'f'],
    ['f', 'g'],
  ] as const) {
    rows.push(`${next}: &${next} [${Array.from({ length: 9 }, () => `*${prev}`).join(',')}]`);
  }
  return rows;
}

async function loadBoth(
  files: Record<string, string>,
  bad = 'bad',
): Promise<{ root: string; bad: LoadResult }> {
  const root = await tempRepo({ ...GOOD, ...files });
  const all = await loadAllLoops(root);
  const good = all.find((entry) => entry.name === 'good');
  expect(good?.result.ok, JSON.stringify(good?.result)).toBe(true);
  const found = all.find((entry) => entry.name === bad);
  expect(found, `the bad loop is listed: ${JSON.stringify(all.map((entry) => entry.name))}`).toBeDefined();
  return { root, bad: found!.result };
}

function only(result: LoadResult): string {
  const problems = problemsOf(result).map(formatProblem);
  expect(problems, problems.join('\n')).toHaveLength(1);
  return problems[0]!;
}

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('a bad LOOP.md', () => {
  it('an alias bomb is refused at its first alias, and the good loop still loads', async () => {
    const { bad } = await loadBoth({
      'loops/bad/LOOP.md': lines('---', 'name: bad', ...aliasBomb(), '---', 'x'),
    });
    expect(only(bad)).toMatch(/^loops\/bad\/LOOP\.md:4: \(front matter\): the YAML aliases expand too far/);
  });

  it('lists or maps nested past 100 levels are refused before the parser recurses into them', async () => {
    const { bad } = await loadBoth({
      'loops/bad/LOOP.md': `---\nname: bad\ndescription: ok\nx: ${'['.repeat(150_000)}${']'.repeat(150_000)}\n---\nx\n`,
    });
    expect(only(bad)).toBe(
      'loops/bad/LOOP.md:4: (front matter): the YAML nests lists or maps deeper than 100 levels',
    );
    const root = await tempRepo({
      'loops/dashes/LOOP.md': `---\nname: dashes\nx:\n${'- '.repeat(300_000)}y\n---\nx\n`,
      'loops/fine/LOOP.md': lines('---', 'name: fine', 'approve: [[a], {b: [c]}]', '---', 'x'),
    });
    expect(only(await loadLoop(root, 'dashes'))).toBe(
      'loops/dashes/LOOP.md:4: (front matter): the YAML nests lists or maps deeper than 100 levels',
    );
    // Shallow nesting is only checked by the schema as usual.
    expect(problemsOf(await loadLoop(root, 'fine')).map(formatProblem)).toEqual([
      expect.stringMatching(/^loops\/fine\/LOOP\.md:3: approve\[0\]: /),
      expect.stringMatching(/^loops\/fine\/LOOP\.md:3: approve\[1\]: /),
    ]);
  });

  it('custom tags are refused at their line, whatever they are', async () => {
    const { bad } = await loadBoth({
      'loops/bad/LOOP.md': lines(
        '---',
        'name: bad',
        'description: !shell whoami',
        'budget:',
        '  usd: !!binary aGVsbG8=',
        '---',
        'x',
      ),
    });
    const problems = problemsOf(bad).map(formatProblem);
    expect(problems).toEqual([
      expect.stringMatching(/^loops\/bad\/LOOP\.md:3: \(front matter\): the YAML tag !shell is not allowed/),
      expect.stringMatching(
        /^loops\/bad\/LOOP\.md:5: \(front matter\): the YAML tag !!binary is not allowed/,
      ),
    ]);
  });

  it('still reads the plain tags that only restate a type', async () => {
    const root = await tempRepo({
      'loops/tagged/LOOP.md': lines('---', 'name: tagged', 'description: !!str 42', '---', 'x'),
    });
    const result = await loadLoop(root, 'tagged');
    expect(result.ok && result.definition.description).toBe('42');
  });

  it('a FIFO is refused at once instead of hanging every command', async () => {
    const root = await tempRepo(GOOD);
    await mkdir(path.join(root, 'loops', 'bad'), { recursive: true });
    execFileSync('mkfifo', [path.join(root, 'loops', 'bad', 'LOOP.md')]);
    const all = await loadAllLoops(root);
    expect(all.map((entry) => entry.name)).toEqual(['bad', 'good']);
    expect(all[1]?.result.ok).toBe(true);
    expect(only(all[0]!.result)).toBe(
      'loops/bad/LOOP.md:1: (file): it is a named pipe (FIFO), not a regular file',
    );
  });

  it('a 30 MB body is refused, without reading it all', async () => {
    const { bad } = await loadBoth({
      'loops/bad/LOOP.md': `---\nname: bad\n---\n${'x'.repeat(30 * 1024 * 1024)}\n`,
    });
    expect(only(bad)).toMatch(
      /^loops\/bad\/LOOP\.md:1: \(file\): it is 30\.0 MB; definition files may be at most 1\.0 MB/,
    );
  });

  it('a file just under the limit loads, one byte over does not', async () => {
    const head = '---\nname: bad\n---\n';
    const fits = head + 'x'.repeat(MAX_DEFINITION_BYTES - head.length);
    const root = await tempRepo({ 'loops/bad/LOOP.md': fits });
    expect((await loadLoop(root, 'bad')).ok).toBe(true);
    await writeFile(path.join(root, 'loops/bad/LOOP.md'), `${fits}x`);
    expect(only(await loadLoop(root, 'bad'))).toContain('definition files may be at most 1.0 MB');
  });

  it('NUL bytes and invalid UTF-8 are refused at their line', async () => {
    const root = await tempRepo(GOOD);
    await mkdir(path.join(root, 'loops', 'bad'), { recursive: true });
    await writeFile(
      path.join(root, 'loops', 'bad', 'LOOP.md'),
      Buffer.concat([Buffer.from('---\nname: bad\n---\nline four\n'), Buffer.from([0x00, 0x01])]),
    );
    expect(only(await loadLoop(root, 'bad'))).toBe(
      'loops/bad/LOOP.md:5: (file): it is a binary file (a NUL byte at line 5), not text',
    );
    await writeFile(
      path.join(root, 'loops', 'bad', 'LOOP.md'),
      Buffer.concat([
        Buffer.from('---\nname: bad\ndescription: caf'),
        Buffer.from([0xe9]),
        Buffer.from('\n---\nx\n'),
      ]),
    );
    expect(only(await loadLoop(root, 'bad'))).toMatch(
      /^loops\/bad\/LOOP\.md:3: \(file\): it is not UTF-8 text/,
    );
    expect((await loadLoop(root, 'good')).ok).toBe(true);
  });

  it('a LOOP.md symlinked from outside the repository is refused; one symlinked from inside loads', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'loops-outside-'));
    made.push(outside);
    await writeFile(path.join(outside, 'LOOP.md'), lines('---', 'name: bad', '---', 'secret task'));
    const root = await tempRepo({
      ...GOOD,
      'shared/inside.md': lines('---', 'name: linked', '---', 'shared task'),
    });
    await mkdir(path.join(root, 'loops', 'bad'), { recursive: true });
    await symlink(path.join(outside, 'LOOP.md'), path.join(root, 'loops', 'bad', 'LOOP.md'));
    await mkdir(path.join(root, 'loops', 'linked'), { recursive: true });
    await symlink('../../shared/inside.md', path.join(root, 'loops', 'linked', 'LOOP.md'));

    const all = await loadAllLoops(root);
    expect(all.map((entry) => entry.name)).toEqual(['bad', 'good', 'linked']);
    expect(only(all[0]!.result)).toMatch(
      /^loops\/bad\/LOOP\.md:1: \(file\): it is a symlink to .*, outside the repository/,
    );
    expect(all[2]?.result.ok && all[2].result.definition.task).toBe('shared task');
  });

  it('a loop folder symlinked from outside is refused too', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'loops-outside-'));
    made.push(outside);
    await writeFile(path.join(outside, 'LOOP.md'), lines('---', 'name: bad', '---', 'x'));
    const root = await tempRepo(GOOD);
    await symlink(outside, path.join(root, 'loops', 'bad'));
    expect(only(await loadLoop(root, 'bad'))).toContain('outside the repository');
  });

  it('a dangling symlink is a problem, not a missing loop', async () => {
    const root = await tempRepo(GOOD);
    await mkdir(path.join(root, 'loops', 'bad'), { recursive: true });
    await symlink('nowhere.md', path.join(root, 'loops', 'bad', 'LOOP.md'));
    expect(only(await loadLoop(root, 'bad'))).toContain('a symlink to a file that does not exist');
  });
});

describe('a bad SKILL.md or RUBRIC.md', () => {
  const BAD = { 'loops/bad/LOOP.md': lines('---', 'name: bad', '---', 'x') };

  it('an alias bomb in a SKILL.md is refused at its line', async () => {
    const { bad } = await loadBoth({
      ...BAD,
      'loops/bad/skills/bomb/SKILL.md': lines(
        '---',
        'name: bomb',
        'description: d',
        ...aliasBomb(),
        '---',
        'x',
      ),
    });
    expect(only(bad)).toMatch(
      /^loops\/bad\/skills\/bomb\/SKILL\.md:5: \(front matter\): the YAML aliases expand too far/,
    );
  });

  for (const file of ['SKILL.md', 'skills/one/SKILL.md', 'RUBRIC.md']) {
    it(`a FIFO ${file} is refused at once`, async () => {
      const root = await tempRepo({ ...GOOD, ...BAD });
      await mkdir(path.dirname(path.join(root, 'loops', 'bad', file)), { recursive: true });
      execFileSync('mkfifo', [path.join(root, 'loops', 'bad', file)]);
      const all = await loadAllLoops(root);
      expect(all.find((entry) => entry.name === 'good')?.result.ok).toBe(true);
      expect(only(all.find((entry) => entry.name === 'bad')!.result)).toBe(
        `loops/bad/${file}:1: (file): it is a named pipe (FIFO), not a regular file`,
      );
    });
  }

  it('a binary RUBRIC.md is refused, and reported once although a grader names it too', async () => {
    const root = await tempRepo({
      ...GOOD,
      'loops/bad/LOOP.md': lines('---', 'name: bad', 'verify:', '  - rubric: RUBRIC.md', '---', 'x'),
    });
    await writeFile(
      path.join(root, 'loops', 'bad', 'RUBRIC.md'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]),
    );
    const all = await loadAllLoops(root);
    expect(all.find((entry) => entry.name === 'good')?.result.ok).toBe(true);
    expect(only(all.find((entry) => entry.name === 'bad')!.result)).toBe(
      'loops/bad/RUBRIC.md:1: (file): it is a binary file (a NUL byte at line 1), not text',
    );
  });

  it('an empty RUBRIC.md that a grader names is reported once, not twice', async () => {
    const root = await tempRepo({
      'loops/bad/LOOP.md': lines('---', 'name: bad', 'verify:', '  - rubric: RUBRIC.md', '---', 'x'),
      'loops/bad/RUBRIC.md': '\n',
    });
    expect(only(await loadLoop(root, 'bad'))).toContain('the rubric has no criteria');
  });

  it('a SCRIPT.yaml that is a FIFO or an alias bomb is refused at validate time', async () => {
    const scripted = {
      'loops/bad/LOOP.md': lines('---', 'name: bad', 'agent: { provider: scripted }', '---', 'x'),
    };
    const root = await tempRepo({ ...GOOD, ...scripted });
    execFileSync('mkfifo', [path.join(root, 'loops', 'bad', 'SCRIPT.yaml')]);
    expect(only(await loadLoop(root, 'bad'))).toBe(
      'loops/bad/SCRIPT.yaml:1: (file): it is a named pipe (FIFO), not a regular file',
    );
    await rm(path.join(root, 'loops', 'bad', 'SCRIPT.yaml'));
    await writeFile(
      path.join(root, 'loops', 'bad', 'SCRIPT.yaml'),
      lines(...aliasBomb(), 'turns: [{ text: x }]'),
    );
    expect(only(await loadLoop(root, 'bad'))).toMatch(
      /^loops\/bad\/SCRIPT\.yaml:1: \(script\): the YAML aliases expand too far/,
    );
    expect((await loadLoop(root, 'good')).ok).toBe(true);
  });
});
