/**
 * A run started from a dirty checkout says so: which of the loop's own files are uncommitted (the
 * worktree does not have them) and how many other files are.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import type { EventOf } from '../../src/core/events.js';
import { describeDirty, dirtyCheckout } from '../../src/workspace/dirty.js';
import { runDirect } from '../budget/direct-run.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;
beforeEach(async () => {
  repo = await makeRepo();
});
afterEach(() => repo.cleanup());

const LOOP = [
  '---',
  'name: dirty',
  'agent: { provider: scripted }',
  'verify:',
  '  - command: node scripts/check.mjs --fast',
  '    protect: [fixtures/expected.json]',
  '  - rubric: ../shared/RUBRIC.md',
  '---',
  'Do the work.',
  '',
].join('\n');
const SCRIPT = 'turns:\n  - text: Done.\n  - when: { step: review }\n    repeat: true\n    text: "{}"\n';

async function write(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(repo.dir, file)), { recursive: true });
  await writeFile(path.join(repo.dir, file), text);
}

async function definition() {
  const loaded = await loadLoop(repo.dir, 'dirty');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.definition;
}

describe('dirtyCheckout', () => {
  beforeEach(async () => {
    await write('scripts/check.mjs', 'process.exit(0);\n');
    await write('fixtures/expected.json', '{}\n');
    await write('loops/shared/RUBRIC.md', '- it works\n');
    await repo.addLoop('dirty', LOOP, SCRIPT);
  });

  it('is nothing on a clean checkout, and ignores the state folder loops writes itself', async () => {
    await write('state/dirty/MEMORY.md', '# Memory\n');
    expect(await dirtyCheckout(repo.dir, await definition(), ['state'])).toBeUndefined();
  });

  it("names the loop's own uncommitted files (its folder, rubric, protected files, graders' scripts) and counts the rest", async () => {
    await write('loops/dirty/LOOP.md', LOOP.replace('Do the work.', 'Do other work.'));
    await write('loops/dirty/skills/new/SKILL.md', '---\nname: new\ndescription: d\n---\nx\n');
    await write('scripts/check.mjs', 'process.exit(1);\n');
    await write('fixtures/expected.json', '{"a":1}\n');
    await write('loops/shared/RUBRIC.md', '- it works well\n');
    await write('notes.txt', 'mine\n');
    await write('src/other.js', 'x\n');
    await repo.git('rm', '-q', 'README.md');
    const dirty = await dirtyCheckout(repo.dir, await definition());
    expect(dirty).toEqual({
      loopFiles: [
        'fixtures/expected.json',
        'loops/dirty/LOOP.md',
        'loops/dirty/skills/new/SKILL.md',
        'loops/shared/RUBRIC.md',
        'scripts/check.mjs',
      ],
      otherFiles: 3,
    });
    expect(describeDirty(dirty!)).toMatch(
      /^uncommitted changes in the checkout: this loop's fixtures\/expected\.json, .* and 3 other file\(s\)\. The run's worktree starts from a commit/,
    );
  });

  it('a run from a dirty checkout warns with a workspace.dirty run.error before its first iteration', async () => {
    await write('loops/dirty/LOOP.md', LOOP.replace('Do the work.', 'Do other work.'));
    await write('notes.txt', 'mine\n');
    const { events } = await runDirect(repo.dir, 'dirty');
    const warnings = events.filter(
      (e): e is EventOf<'run.error'> => e.type === 'run.error' && e.kind === 'workspace.dirty',
    );
    expect(warnings.map((e) => e.message)).toEqual([
      expect.stringContaining("this loop's loops/dirty/LOOP.md and 1 other file(s)"),
    ]);
    const order = events.map((e) => e.type);
    expect(order.indexOf('run.error')).toBeLessThan(order.indexOf('iteration.started'));
  });

  it('a run from a clean checkout does not warn', async () => {
    const { events } = await runDirect(repo.dir, 'dirty');
    expect(events.filter((e) => e.type === 'run.error' && e.kind === 'workspace.dirty')).toEqual([]);
  });
});
