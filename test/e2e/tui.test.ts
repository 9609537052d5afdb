/**
 * The built supervisor in a real terminal: keys typed through tmux, the screen read back with
 * capture-pane, and what the run left behind checked in the repository afterwards.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { openTerminal, requireTmux, type Terminal } from './tmux.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

let repo: TestRepo;
let terminal: Terminal | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await terminal?.close();
  terminal = undefined;
  await repo.cleanup();
});

/** The selected row starts with "›"; the loops are listed in name order. */
function selectedRow(name: string): RegExp {
  return new RegExp(`│ › ${name} `);
}

it('starts fix-tests from the keyboard, shows it verified with its trace, shows help, and quits', async () => {
  await requireTmux();
  terminal = await openTerminal({ cwd: repo.dir, columns: 120, rows: 36 });
  const t = terminal;

  // The supervisor, not the demo; the sentinel after it reports the exit status once the shell is back.
  await t.type(`CI=false LOOPS_DEMO_PACE_MS=0 node '${CLI}' -C '${repo.dir}'; echo "loops-exited:$?"`);
  await t.waitFor(/add-changelog[\s\S]*fix-tests[\s\S]*tidy-comments/);
  await t.waitFor(selectedRow('add-changelog'));

  await t.press('j', { literal: true });
  await t.waitFor(selectedRow('fix-tests'));
  await t.press('j', { literal: true });
  await t.waitFor(selectedRow('tidy-comments'));
  await t.press('k', { literal: true });
  const selected = await t.waitFor(selectedRow('fix-tests'));
  expect(selected).toMatch(/trace · fix-tests/);

  await t.press('Enter');
  await t.waitFor(/│ › fix-tests\s+verified /);
  const traced = await t.waitFor(/✓ command: node --test \(3 passed, 0 failed\)/);
  expect(traced).toContain('✗ command: node --test (2 passed, 1 failed)');
  expect(traced).toMatch(/│ {3}add-changelog\s+idle /);
  expect(traced).toMatch(/│ {3}tidy-comments\s+idle /);

  await t.press('?', { literal: true });
  const help = await t.waitFor(/interrupt\s+interrupt the selected loop/);
  expect(help).toMatch(/keys \(\? or esc to close\)/);
  expect(help).not.toMatch(/trace · fix-tests/);
  await t.press('?', { literal: true });
  await t.waitFor(/trace · fix-tests/);

  await t.press('q', { literal: true });
  const after = await t.waitFor(/loops-exited:\d+/);
  expect(/loops-exited:(\d+)/.exec(after)?.[1]).toBe('0');

  const traces = await readdir(join(repo.dir, 'state', 'fix-tests', 'traces'));
  expect(traces).toHaveLength(1);
  const run = traces[0]!.replace(/\.jsonl$/, '');
  const events = (await readFile(join(repo.dir, 'state', 'fix-tests', 'traces', traces[0]!), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; outcome?: string; branch?: string });
  expect(events.at(-1)).toMatchObject({
    type: 'run.ended',
    outcome: 'verified',
    branch: `loops/fix-tests/${run}`,
  });
  expect(await repo.git('branch', '--list', '--format=%(refname:short)', 'loops/*')).toBe(
    `loops/fix-tests/${run}`,
  );
  expect(await repo.git('show', `loops/fix-tests/${run}:src/cart.js`)).toContain('(cents / 100).toFixed(2)');
}, 90_000);
