/** The guard on a proposed diff, attacked: settings, graders, tests, other files, stale or repeated diffs. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwoFilesPatch } from 'diff';
import { loadLoop } from '../../src/core/definition/load.js';
import type { LoopDefinition } from '../../src/core/definition/schema.js';
import { changeKey, checkProposal, harnessFiles } from '../../src/hillclimb/guard.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;
let def: LoopDefinition;

const LOOP = `---
name: shop
agent: { provider: scripted }
verify:
  - command: node --test
    protect: ["loops/shop/skills/graded/**"]
budget: { iterations: 3 }
hillclimb: { every: 5 }
---
Fix the failing tests.
`;
const SKILL = `---
name: shop
description: How to fix tests.
allowed-tools: read_file
---
1. Read the failure.
`;

const GRADED = `---
name: graded
description: A skill the grader reads.
---
Body.
`;

beforeAll(async () => {
  repo = await makeRepo();
  await repo.addLoop('shop', LOOP, 'turns:\n  - text: hi\n');
  await writeFile(join(repo.dir, 'loops/shop/SKILL.md'), SKILL);
  await writeFile(join(repo.dir, 'loops/shop/RUBRIC.md'), '- Tests pass\n');
  await mkdir(join(repo.dir, 'loops/shop/skills/graded'), { recursive: true });
  await writeFile(join(repo.dir, 'loops/shop/skills/graded/SKILL.md'), GRADED);
  const loaded = await loadLoop(repo.dir, 'shop');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  def = loaded.definition;
});
afterAll(() => repo.cleanup());

function patch(file: string, before: string, after: string): string {
  return createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context: 2 });
}

async function guard(file: string, diff: string, rejected: string[] = []) {
  return checkProposal({ repoRoot: repo.dir, definition: def, file, diff, rejected });
}

async function reason(file: string, diff: string, rejected: string[] = []): Promise<string> {
  const r = await guard(file, diff, rejected);
  if (r.ok) throw new Error(`accepted a diff that should be refused:\n${diff}`);
  return r.reason;
}

describe('the proposal guard', () => {
  it('lets through a change to the task prompt or a skill body', async () => {
    const loopFile = 'loops/shop/LOOP.md';
    const task = patch(
      loopFile,
      LOOP,
      LOOP.replace('Fix the failing tests.', 'Fix the failing tests, one at a time.'),
    );
    expect(await guard(loopFile, task)).toMatchObject({ ok: true });
    const skill = patch('loops/shop/SKILL.md', SKILL, `${SKILL}2. Fix the code, not the test.\n`);
    expect(await guard('loops/shop/SKILL.md', skill)).toMatchObject({ ok: true });
    expect(harnessFiles(def)).toEqual([
      'loops/shop/LOOP.md',
      'loops/shop/SKILL.md',
      'loops/shop/skills/graded/SKILL.md',
    ]);
  });

  it("refuses a diff that edits the graders' commands, the budget or the hillclimb settings", async () => {
    const file = 'loops/shop/LOOP.md';
    for (const [from, to] of [
      ['command: node --test', 'command: "true"'],
      ['budget: { iterations: 3 }', 'budget: { iterations: 300 }'],
      ['hillclimb: { every: 5 }', 'hillclimb: { every: 1, usd_per_proposal: 100 }'],
      ['budget: { iterations: 3 }', 'budget: { iterations: 3 }\napprove: []'],
    ] as const) {
      expect(await reason(file, patch(file, LOOP, LOOP.replace(from, to)))).toContain("LOOP.md's settings");
    }
  });

  it('refuses a change to a skill setting, but not to its description', async () => {
    const file = 'loops/shop/SKILL.md';
    const tools = patch(file, SKILL, SKILL.replace('allowed-tools: read_file', 'allowed-tools: run'));
    expect(await reason(file, tools)).toContain('"allowed-tools"');
    const described = patch(file, SKILL, SKILL.replace('How to fix tests.', 'How to fix failing tests.'));
    expect(await guard(file, described)).toMatchObject({ ok: true });
  });

  it('refuses a change to the rubric, which the evaluation could not measure', async () => {
    const file = 'loops/shop/RUBRIC.md';
    const edit = patch(file, '- Tests pass\n', '- Tests pass\n- No test is skipped\n');
    expect(await reason(file, edit)).toContain('is the rubric');
  });

  it('refuses a harness file that a grader protects (its input)', async () => {
    const file = 'loops/shop/skills/graded/SKILL.md';
    expect(await reason(file, patch(file, GRADED, `${GRADED}More.\n`))).toContain('input of a grader');
  });

  it('refuses a skill a grader protects by its exact path, or names in its command', async () => {
    const file = 'loops/shop/SKILL.md';
    const edit = patch(file, SKILL, `${SKILL}2. Fix the code.\n`);
    const first = def.verify[0];
    if (!first || !('command' in first)) throw new Error('the fixture loop has a command grader first');
    const exact: LoopDefinition = { ...def, verify: [{ ...first, protect: [file] }] };
    const named: LoopDefinition = { ...def, verify: [{ ...first, command: `node --test ${file}` }] };
    for (const definition of [exact, named]) {
      const r = await checkProposal({ repoRoot: repo.dir, definition, file, diff: edit, rejected: [] });
      expect(r).toMatchObject({ ok: false });
      if (!r.ok) expect(r.reason).toContain('input of a grader');
    }
    // The same edit with no grader naming the skill goes through.
    expect(await guard(file, edit)).toMatchObject({ ok: true });
  });

  it('refuses any other file: tests, sources, traversal, a file the diff names but the proposal does not', async () => {
    const test = patch('test/cart.test.js', 'a\n', 'b\n');
    expect(await reason('test/cart.test.js', test)).toContain('not one of the loop');
    expect(await reason('loops/shop/../../src/cart.js', test)).toContain('not one of the loop');
    const skillFile = 'loops/shop/SKILL.md';
    const lying = patch('test/cart.test.js', SKILL, `${SKILL}x\n`);
    expect(await reason(skillFile, lying)).toContain('the diff names');
    const two = `${patch(skillFile, SKILL, `${SKILL}x\n`)}${patch('loops/shop/LOOP.md', LOOP, `${LOOP}y\n`)}`;
    expect(await reason(skillFile, two)).toContain('exactly one file');
  });

  it('refuses a diff that does not apply, changes nothing, or repeats a rejected change', async () => {
    const file = 'loops/shop/SKILL.md';
    const stale = patch(file, SKILL.replace('Read', 'Study'), `${SKILL.replace('Read', 'Study')}2. x\n`);
    expect(await reason(file, stale)).toContain('does not apply cleanly');
    expect(await reason(file, 'not a diff at all')).toContain('exactly one file');
    const good = patch(file, SKILL, `${SKILL}2. Fix the code.\n`);
    // The same change with other context lines is the same change.
    const sameChange = createTwoFilesPatch(
      `a/${file}`,
      `b/${file}`,
      SKILL,
      `${SKILL}2. Fix the code.\n`,
      '',
      '',
      {
        context: 1,
      },
    );
    expect(changeKey(sameChange)).toBe(changeKey(good));
    expect(await reason(file, good, [sameChange])).toContain('already rejected');
  });
});
