/**
 * The built supervisor in a real terminal: keys typed through tmux, the screen read back with
 * capture-pane, and what the run left behind checked in the repository afterwards.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
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

/** The selected row starts with "›" (then the needs-you mark); the loops are listed in name order. */
function selectedRow(name: string): RegExp {
  return new RegExp(`│ › [ ⚑] ${name} `);
}

/** The loops pane's rows in screen order, and which one is selected ("›"), read off a screen. */
function loopRows(screen: string): { names: string[]; selected: number } {
  const names: string[] = [];
  let selected = -1;
  for (const match of screen.matchAll(/^│ (›| ) [ ⚑] ([a-z][a-z0-9-]*) {2,}/gm)) {
    if (match[1] === '›') selected = names.length;
    names.push(match[2]!);
  }
  return { names, selected };
}

/**
 * Moves the selection to `name` one key at a time, reading the screen after each press and
 * choosing the next key from where the selection is then, so the walk follows what the screen
 * shows rather than counting presses. Fails when the selection does not reach the loop.
 */
async function selectByKeys(t: Terminal, name: string): Promise<string> {
  let screen = await t.screen();
  for (let presses = 0; presses < 12; presses++) {
    const { names, selected } = loopRows(screen);
    const target = names.indexOf(name);
    if (target === -1) throw new Error(`no row for ${name} on the screen:\n${screen}`);
    if (selected === target) return screen;
    await t.press(selected < target ? 'j' : 'k', { literal: true });
    // A move is seen on screen before the next key; one not seen in 5 s is pressed again.
    const moved = new RegExp(`^│ › [ ⚑] (?!${names[selected] ?? ''} )`, 'm');
    screen = await t.waitFor(moved, 5_000).catch(() => t.screen());
  }
  return t.waitFor(selectedRow(name));
}

/** An unselected row: no "›". */
function row(name: string, rest: string): RegExp {
  return new RegExp(`│ {3}[ ⚑] ${name}\\s+${rest}`);
}

it('starts fix-tests from the keyboard, shows it verified with its trace, shows help, and quits', async () => {
  await requireTmux();
  // Six panes share the rows: 60 leave the trace room for both grader lines of the run.
  terminal = await openTerminal({ cwd: repo.dir, columns: 120, rows: 60 });
  const t = terminal;

  // The supervisor, not the demo; the sentinel after it reports the exit status once the shell is back.
  // Without the test runner's NODE_ENV: the screen as people run it (React's production build).
  await t.type(
    `env -u NODE_ENV CI=false LOOPS_DEMO_PACE_MS=0 node '${CLI}' -C '${repo.dir}'; echo "loops-exited:$?"`,
  );
  await t.waitFor(/add-changelog[\s\S]*fix-tests[\s\S]*tidy-comments/);
  await t.waitFor(selectedRow('add-changelog'));

  await t.press('j', { literal: true });
  await t.waitFor(selectedRow('fix-tests'));
  await t.press('j', { literal: true });
  await t.waitFor(selectedRow('release-notes'));
  await t.press('k', { literal: true });
  const selected = await t.waitFor(selectedRow('fix-tests'));
  expect(selected).toMatch(/trace · fix-tests/);

  await t.press('Enter');
  await t.waitFor(/│ › [ ⚑] fix-tests\s+verified /);
  const traced = await t.waitFor(/✓ command: node --test \(3 passed, 0 failed\)/);
  expect(traced).toContain('✗ command: node --test (2 passed, 1 failed)');
  expect(traced).toMatch(row('add-changelog', 'idle '));
  expect(traced).toMatch(row('tidy-comments', 'idle '));

  await t.press('?', { literal: true });
  const help = await t.waitFor(/interrupt\s+\[global\] interrupt the selected loop/);
  expect(help).toMatch(/keys \(\? or esc to close/);
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

/**
 * The demo as a new user meets it: every loop starts, the approval is answered, the spend and stall
 * panes are read, a verified run is merged into main, and q quits. The approval and stall parts need
 * the engine's approvals and stall detector, required unless LOOPS_E2E_ENGINE=0; with that the
 * test accepts a screen where the push simply ran and no stall was declared.
 */
it('runs the demo: answers the approval, reads spend and stalls, merges a run, quits', async () => {
  await requireTmux();
  const engine = process.env.LOOPS_E2E_ENGINE !== '0';
  const scratch = await mkdtemp(join(tmpdir(), 'loops-e2e-demo-'));
  try {
    terminal = await openTerminal({ cwd: scratch, columns: 140, rows: 50 });
    const t = terminal;
    await t.type(
      `env -u NODE_ENV CI=false LOOPS_DEMO_PACE_MS=0 TMPDIR='${scratch}' node '${CLI}' demo 2>'${scratch}/stderr'; echo "loops-exited:$?"`,
    );
    await t.waitFor(/release-notes[\s\S]*retry-same-fix[\s\S]*tidy-comments/);

    // The push in release-notes asks first (engine); answered with a.
    const first = await t.waitFor(/approval needed · release-notes|release-notes\s+verified/, 60_000);
    if (engine || /approval needed · release-notes/.test(first)) {
      expect(first).toMatch(/rule run:git push\* matched git push --dry-run/);
      await t.press('a', { literal: true });
      await t.waitFor(/approved run for release-notes/);
    }
    await t.waitFor(/release-notes\s+verified/, 60_000);

    // The spend pane adds up the session's model calls.
    await t.waitFor(/fix-tests\s+verified/, 60_000);
    const spend = await t.waitFor(/spend · this session[\s\S]*total \S+[\s\S]*in \d/);
    expect(spend).toMatch(/runs verified/);

    // The stall pane of retry-same-fix: its signals per iteration, and (engine) the stall verdict.
    await selectByKeys(t, 'retry-same-fix');
    const stalls = await t.waitFor(/stalls · retry-same-fix/);
    if (engine) {
      await t.waitFor(/⚠ stalled at iteration \d+ \(pause\)/, 60_000);
      await t.waitFor(/⚑ retry-same-fix\s+paused/);
    } else {
      expect(stalls).toMatch(/no progress signals yet|✗ quiet|✓ progress|⚠ stalled/);
    }

    // Merge fix-tests's verified run into main.
    await selectByKeys(t, 'fix-tests');
    await t.press('m', { literal: true });
    await t.waitFor(/merged loops\/fix-tests\/\S+ into main/);

    await t.press('q', { literal: true });
    const after = await t.waitFor(/loops-exited:\d+/, 60_000);
    expect(/loops-exited:(\d+)/.exec(after)?.[1]).toBe('0');

    const demoDir = (await readdir(scratch)).find((name) => name.startsWith('loops-demo-'));
    expect(demoDir).toBeDefined();
    const dir = join(scratch, demoDir!);
    const git = async (...args: string[]) => (await execa('git', ['-C', dir, ...args])).stdout;
    expect(await git('show', 'main:src/cart.js')).toContain('(cents / 100).toFixed(2)');
    // The person's checkout is on main, clean apart from loops' own state folder.
    expect(await git('branch', '--show-current')).toBe('main');
    expect(await git('status', '--porcelain', '--untracked-files=no')).toBe('');
  } finally {
    await terminal?.close();
    terminal = undefined;
    await rm(scratch, { recursive: true, force: true });
  }
}, 240_000);
