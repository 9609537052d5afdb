/** Merge, conflict, discard and clean on real repositories: a person's work is never lost. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanWorktrees } from '../../src/workspace/clean.js';
import { discardCost, discardRun, mergeRun, runDiff, type RunBranch } from '../../src/workspace/review.js';
import { Worktrees } from '../../src/workspace/worktrees.js';
import { makeRepo, sh } from './git-repo.js';

let repo: string;
let cleanup: () => Promise<void>;
let worktrees: Worktrees;

beforeEach(async () => {
  ({ repo, cleanup } = await makeRepo());
  worktrees = await Worktrees.open(repo);
});
afterEach(async () => {
  await cleanup();
});

/** A run's worktree with one committed change to `file`. */
async function run(name: string, file = 'README.md', text = `changed by ${name}\n`): Promise<RunBranch> {
  const wt = await worktrees.create({ loop: 'demo', run: name, base: 'HEAD' });
  writeFileSync(path.join(wt.path, file), text);
  sh(wt.path, 'add', '-A');
  sh(wt.path, 'commit', '-q', '-m', `${name}: edit ${file}`);
  return {
    branch: wt.branch,
    worktree: wt.path,
    baseSha: wt.baseSha,
    base: 'HEAD',
    ...(wt.baseBranch === undefined ? {} : { baseBranch: wt.baseBranch }),
  };
}

const head = (ref: string): string => sh(repo, 'rev-parse', ref).trim();

describe('the base branch', () => {
  it('is recorded at run start: a bare HEAD names the branch checked out', async () => {
    const r = await run('r1');
    expect(r.baseBranch).toBe('main');
    sh(repo, 'checkout', '-q', '--detach');
    const detached = await worktrees.create({ loop: 'demo', run: 'r2', base: 'HEAD' });
    expect(detached.baseBranch).toBeUndefined();
  });
});

describe('runDiff', () => {
  it('lists each file of the run against the commit it started from, coloured', async () => {
    const r = await run('r1', 'src.txt', 'new file\n');
    // main moves on after the run started: its change is not part of the run's diff.
    writeFileSync(path.join(repo, 'other.txt'), 'on main\n');
    sh(repo, 'add', '-A');
    sh(repo, 'commit', '-q', '-m', 'main moves');
    const diff = await runDiff(repo, r);
    expect(diff.files.map((f) => f.path)).toEqual(['src.txt']);
    expect(diff.lines.join('\n')).toContain('\u001b[');
    expect(diff.lines.join('\n')).toContain('new file');
    expect(diff.stat).toContain('src.txt');
  });

  it('says so when the branch is gone', async () => {
    const r = await run('r1');
    sh(repo, 'worktree', 'remove', '--force', r.worktree!);
    sh(repo, 'branch', '-D', r.branch);
    await expect(runDiff(repo, r)).rejects.toThrow(/no longer exists/);
  });
});

describe('mergeRun', () => {
  it('merges into the clean checked-out branch it started from', async () => {
    const r = await run('r1');
    const before = head('main');
    const result = await mergeRun(repo, r);
    expect(result).toMatchObject({ ok: true });
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('changed by r1\n');
    // A merge commit even where a fast-forward would do: the watch trigger knows it for loops' own.
    expect(sh(repo, 'log', '-1', '--format=%P', 'main').trim()).toBe(`${before} ${head(r.branch)}`);
    const again = await mergeRun(repo, r);
    expect(again.ok).toBe(true);
    expect(again.message).toContain('already');
  });

  it('refuses a checkout with uncommitted changes, and leaves them and the branch as they were', async () => {
    const r = await run('r1', 'src.txt', 'run work\n');
    writeFileSync(path.join(repo, 'README.md'), 'my own edit, not committed\n');
    const before = head('main');
    const result = await mergeRun(repo, r);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/uncommitted change/);
    expect(head('main')).toBe(before);
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('my own edit, not committed\n');
    expect(existsSync(path.join(repo, 'src.txt'))).toBe(false);
  });

  it('merges into a branch that is not checked out without touching the checkout', async () => {
    const r = await run('r1', 'src.txt', 'run work\n');
    // The person moves on: main gains a commit, and another branch is checked out with a dirty file.
    writeFileSync(path.join(repo, 'main.txt'), 'main work\n');
    sh(repo, 'add', '-A');
    sh(repo, 'commit', '-q', '-m', 'main work');
    const mainBefore = head('main');
    sh(repo, 'checkout', '-q', '-b', 'feature');
    writeFileSync(path.join(repo, 'README.md'), 'dirty on feature\n');
    const result = await mergeRun(repo, r);
    expect(result).toMatchObject({ ok: true });
    const merged = head('main');
    expect(sh(repo, 'rev-list', '--parents', '-n', '1', merged).trim().split(' ').slice(1)).toEqual([
      mainBefore,
      head(r.branch),
    ]);
    expect(sh(repo, 'show', `${merged}:src.txt`)).toBe('run work\n');
    expect(sh(repo, 'show', `${merged}:main.txt`)).toBe('main work\n');
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('dirty on feature\n');
    expect(sh(repo, 'branch', '--show-current').trim()).toBe('feature');
  });

  it('reports a conflict with nothing changed', async () => {
    const r = await run('r1', 'README.md', 'the run says this\n');
    writeFileSync(path.join(repo, 'README.md'), 'main says that\n');
    sh(repo, 'commit', '-q', '-am', 'main edits README');
    const before = head('main');
    const result = await mergeRun(repo, r);
    expect(result).toMatchObject({ ok: false, conflicts: ['README.md'] });
    expect(result.message).toMatch(/conflicts in README.md: nothing was changed/);
    expect(head('main')).toBe(before);
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toBe('main says that\n');
    expect(sh(repo, 'status', '--porcelain')).toBe('');
    expect(head(r.branch)).not.toBe(before);
  });

  it('refuses a run that started from a commit, not a branch', async () => {
    const r = await run('r1');
    const { baseBranch: _b, ...noBranch } = r;
    const result = await mergeRun(repo, { ...noBranch, base: r.baseSha! });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/merge it by hand/);
  });
});

describe('discardRun', () => {
  it('says what would be lost, then removes the branch and the worktree', async () => {
    const r = await run('r1');
    writeFileSync(path.join(r.worktree!, 'scratch.txt'), 'untracked\n');
    expect(await discardCost(repo, r)).toEqual({ commits: 1, dirty: 1, merged: false });
    expect(await discardRun(repo, r)).toMatchObject({ ok: true });
    expect(existsSync(r.worktree!)).toBe(false);
    expect(sh(repo, 'branch', '--list', r.branch).trim()).toBe('');
    expect(head('main')).toBe(r.baseSha);
  });

  it('never deletes a branch that is not a run branch', async () => {
    sh(repo, 'branch', 'precious');
    const result = await discardRun(repo, { branch: 'precious' });
    expect(result.ok).toBe(false);
    expect(sh(repo, 'branch', '--list', 'precious').trim()).toBe('precious');
  });
});

describe('cleanWorktrees', () => {
  it('removes merged and discarded runs, keeps dirty and unmerged ones', async () => {
    const merged = await run('merged', 'a.txt');
    const unmerged = await run('unmerged', 'b.txt');
    const dirty = await run('dirty', 'c.txt');
    const discarded = await run('discarded', 'd.txt');
    expect(await mergeRun(repo, merged)).toMatchObject({ ok: true });
    expect(await mergeRun(repo, dirty)).toMatchObject({ ok: true });
    writeFileSync(path.join(dirty.worktree!, 'c.txt'), 'edited after the merge\n');
    // Its branch deleted by hand, the worktree left detached at the base: nothing of it is lost.
    sh(discarded.worktree!, 'checkout', '-q', '--detach', discarded.baseSha!);
    sh(repo, 'branch', '-D', discarded.branch);
    // Detached with a commit on no branch: that commit would be lost, so it stays.
    const orphan = await run('orphan', 'e.txt');
    sh(orphan.worktree!, 'checkout', '-q', '--detach');
    sh(repo, 'branch', '-D', orphan.branch);

    const dry = await cleanWorktrees(repo, { dryRun: true });
    expect(dry.removed).toHaveLength(2);
    expect(existsSync(merged.worktree!)).toBe(true);

    const report = await cleanWorktrees(repo);
    const label = (r: { branch?: string; path: string; why: string }) => [
      r.branch ?? path.basename(r.path),
      r.why,
    ];
    expect(report.removed.map(label).sort()).toEqual([
      ['discarded', 'discarded'],
      [merged.branch, 'merged'],
    ]);
    expect(report.kept.map(label).sort()).toEqual([
      [dirty.branch, '1 uncommitted change(s)'],
      [unmerged.branch, 'not merged'],
      ['orphan', 'detached, its commits on no branch'],
    ]);
    expect(existsSync(orphan.worktree!)).toBe(true);
    expect(existsSync(merged.worktree!)).toBe(false);
    expect(existsSync(discarded.worktree!)).toBe(false);
    expect(readFileSync(path.join(dirty.worktree!, 'c.txt'), 'utf8')).toBe('edited after the merge\n');
    expect(head(unmerged.branch)).toBeTruthy();
    expect(existsSync(unmerged.worktree!)).toBe(true);
  });
});

/** A run with one commit; `merged` merges it into main; its worktree is then removed, the branch left. */
async function orphanedBranch(name: string, merged: boolean): Promise<string> {
  const wt = await worktrees.create({ loop: 'demo', run: name, base: 'HEAD' });
  writeFileSync(path.join(wt.path, `${name}.txt`), `by ${name}\n`);
  sh(wt.path, 'add', '-A');
  sh(wt.path, 'commit', '-q', '-m', `${name}: work`);
  const run = { branch: wt.branch, worktree: wt.path, baseSha: wt.baseSha, base: 'HEAD', baseBranch: 'main' };
  if (merged) expect(await mergeRun(repo, run)).toMatchObject({ ok: true });
  sh(repo, 'worktree', 'remove', '--force', wt.path);
  return wt.branch;
}

const branches = (): string[] =>
  sh(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/').split('\n').filter(Boolean).sort();

describe('cleanWorktrees on run branches with no worktree', () => {
  it('deletes merged ones, keeps and lists unmerged ones; a dry run only lists', async () => {
    const merged = await orphanedBranch('done', true);
    const unmerged = await orphanedBranch('pending', false);
    // A run branch still checked out in a worktree is the worktree pass's, not this one's.
    const live = await worktrees.create({ loop: 'demo', run: 'live', base: 'HEAD' });
    writeFileSync(path.join(live.path, 'live.txt'), 'in progress\n');
    sh(live.path, 'add', '-A');
    sh(live.path, 'commit', '-q', '-m', 'live: work');
    // Merged into another run branch only: not kept anywhere a person reads, so it is not "merged".
    sh(repo, 'branch', 'loops/demo/copy', unmerged);
    const before = branches();

    const dry = await cleanWorktrees(repo, { dryRun: true });
    expect(dry.branches.removed).toEqual([merged]);
    expect(dry.branches.kept).toEqual([
      { branch: 'loops/demo/copy', why: 'not merged' },
      { branch: unmerged, why: 'not merged' },
    ]);
    expect(branches()).toEqual(before);

    const report = await cleanWorktrees(repo);
    expect(report.branches).toEqual(dry.branches);
    expect(branches()).toEqual(before.filter((b) => b !== merged));
    // Listed once, by the worktree pass, with its folder.
    expect(report.kept).toEqual([{ path: live.path, branch: live.branch, why: 'not merged' }]);
  });
});
