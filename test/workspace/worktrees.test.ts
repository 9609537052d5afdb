import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import { WorkspaceError, Worktrees } from '../../src/workspace/worktrees.js';
import { tempDir } from '../tools/temp-dir.js';
import { makeRepo, sh } from './git-repo.js';

let repo: string;
let cleanup: () => Promise<void>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  // A repository above the temp dir must not be found by "not a repository" tests.
  process.env.GIT_CEILING_DIRECTORIES = await realpath(os.tmpdir());
});
afterAll(() => {
  process.env = { ...savedEnv };
});
beforeEach(async () => {
  ({ repo, cleanup } = await makeRepo());
});
afterEach(() => cleanup());

function branches(): string[] {
  return sh(repo, 'branch', '--format=%(refname:short)').split('\n').filter(Boolean).sort();
}

function registered(): string[] {
  return sh(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}

async function failure(promise: Promise<unknown>): Promise<WorkspaceError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkspaceError);
  return error as WorkspaceError;
}

describe('Worktrees.open', () => {
  it('finds the top level from a subfolder', async () => {
    await mkdir(path.join(repo, 'sub'));
    const worktrees = await Worktrees.open(path.join(repo, 'sub'));
    expect(worktrees.repoRoot).toBe(repo);
  });

  it('refuses a folder that is not a git repository', async () => {
    const { dir, cleanup: done } = await tempDir('plain');
    try {
      const error = await failure(Worktrees.open(dir));
      expect(error.message).toBe(
        `not a git repository: ${dir} (run git init there and commit once, or start loops inside a git repository)`,
      );
    } finally {
      await done();
    }
  });

  it('refuses a repository without commits', async () => {
    const { dir, cleanup: done } = await tempDir('empty');
    try {
      sh(dir, 'init', '--quiet');
      const error = await failure(Worktrees.open(dir));
      expect(error.message).toMatch(/^the repository has no commits yet: commit once first/);
    } finally {
      await done();
    }
  });
});

describe('create', () => {
  it('makes the worktree on a new branch from base, hidden from the main status', async () => {
    const worktrees = await Worktrees.open(repo);
    const head = sh(repo, 'rev-parse', 'HEAD').trim();
    const wt = await worktrees.create({ loop: 'fix-tests', run: 'r1', base: 'main' });
    expect(wt).toEqual({
      path: path.join(repo, '.loops', 'worktrees', 'fix-tests', 'r1'),
      branch: 'loops/fix-tests/r1',
      baseSha: head,
      // The branch the base named, so a merge of the run knows where to go.
      baseBranch: 'main',
    });
    expect(existsSync(path.join(wt.path, 'README.md'))).toBe(true);
    expect(branches()).toEqual(['loops/fix-tests/r1', 'main']);
    expect(sh(wt.path, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('loops/fix-tests/r1');
    expect(sh(repo, 'status', '--porcelain')).toBe('');
    // --no-track: no upstream config written for the branch.
    expect(await readFile(path.join(repo, '.git', 'config'), 'utf8')).not.toContain('loops/');
  });

  it('adds .loops/ to info/exclude once', async () => {
    const worktrees = await Worktrees.open(repo);
    await worktrees.create({ loop: 'a', run: '1', base: 'HEAD' });
    await worktrees.create({ loop: 'a', run: '2', base: 'HEAD' });
    const again = await Worktrees.open(repo);
    await again.create({ loop: 'a', run: '3', base: 'HEAD' });
    const exclude = await readFile(path.join(repo, '.git', 'info', 'exclude'), 'utf8');
    expect(exclude.split('\n').filter((line) => line === '.loops/')).toHaveLength(1);
  });

  it('refuses a missing base and leaves nothing behind', async () => {
    const worktrees = await Worktrees.open(repo);
    const error = await failure(worktrees.create({ loop: 'a', run: '1', base: 'no-such-branch' }));
    expect(error.message).toContain(`base branch 'no-such-branch' not found in ${repo}`);
    expect(existsSync(path.join(repo, '.loops', 'worktrees', 'a', '1'))).toBe(false);
    expect(branches()).toEqual(['main']);
    expect(registered()).toEqual([repo]);
  });

  it('cleans up the branch and folder when git fails halfway', async () => {
    // A blob the checkout needs is gone: git makes the branch, then fails writing the files.
    const blob = sh(repo, 'rev-parse', 'HEAD:README.md').trim();
    await rm(path.join(repo, '.git', 'objects', blob.slice(0, 2), blob.slice(2)));
    const worktrees = await Worktrees.open(repo);
    const error = await failure(worktrees.create({ loop: 'a', run: '1', base: 'main' }));
    expect(error.message).toContain('creating the worktree');
    expect(existsSync(path.join(repo, '.loops', 'worktrees', 'a', '1'))).toBe(false);
    expect(branches()).toEqual(['main']);
    expect(registered()).toEqual([repo]);
  });

  it("never runs the repository's hooks (a post-checkout hook planted by an earlier run)", async () => {
    const marker = path.join(repo, 'hook-ran');
    await writeFile(
      path.join(repo, '.git', 'hooks', 'post-checkout'),
      `#!/bin/sh\ntouch ${marker}\nexit 3\n`,
      {
        mode: 0o755,
      },
    );
    const worktrees = await Worktrees.open(repo);
    const made = await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    expect(existsSync(path.join(made.path, 'README.md'))).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses names that are not plain folder and branch names', async () => {
    const worktrees = await Worktrees.open(repo);
    await failure(worktrees.create({ loop: '../escape', run: '1', base: 'main' }));
    await failure(worktrees.create({ loop: 'a', run: 'x..y', base: 'main' }));
    await failure(worktrees.create({ loop: 'a', run: '1', base: '--orphan' }));
    expect(branches()).toEqual(['main']);
  });

  it('refuses to reuse a run id', async () => {
    const worktrees = await Worktrees.open(repo);
    await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    const error = await failure(worktrees.create({ loop: 'a', run: '1', base: 'main' }));
    expect(error.message).toContain('already exists');
  });

  it('makes four worktrees at once, from two handles on the same repository', async () => {
    const one = await Worktrees.open(repo);
    const two = await Worktrees.open(repo);
    const made = await Promise.all(
      ['1', '2', '3', '4'].map((run, i) =>
        (i % 2 === 0 ? one : two).create({ loop: 'par', run, base: 'main' }),
      ),
    );
    expect(made.map((wt) => wt.branch)).toEqual(['loops/par/1', 'loops/par/2', 'loops/par/3', 'loops/par/4']);
    expect(branches()).toEqual(['loops/par/1', 'loops/par/2', 'loops/par/3', 'loops/par/4', 'main']);
    expect(registered()).toHaveLength(5);
    for (const wt of made) expect(existsSync(path.join(wt.path, 'README.md'))).toBe(true);
  });
});

describe('remove and pruneOrphans', () => {
  it('removes the worktree and, when asked, its branch', async () => {
    const worktrees = await Worktrees.open(repo);
    const kept = await worktrees.create({ loop: 'a', run: 'keep-branch', base: 'main' });
    const gone = await worktrees.create({ loop: 'a', run: 'drop-branch', base: 'main' });
    await writeFile(path.join(gone.path, 'dirty.txt'), 'uncommitted');
    await worktrees.remove(kept.path);
    await worktrees.remove(gone.path, { deleteBranch: true });
    expect(existsSync(kept.path)).toBe(false);
    expect(existsSync(gone.path)).toBe(false);
    expect(registered()).toEqual([repo]);
    expect(branches()).toEqual(['loops/a/keep-branch', 'main']);
  });

  it('refuses to remove anything outside .loops/worktrees', async () => {
    const worktrees = await Worktrees.open(repo);
    const error = await failure(worktrees.remove(repo));
    expect(error.message).toContain('is not a loops worktree');
    expect(existsSync(path.join(repo, 'README.md'))).toBe(true);
  });

  it('prunes stale records, and deletes an unknown folder only when its branch holds everything in it', async () => {
    const worktrees = await Worktrees.open(repo);
    const live = await worktrees.create({ loop: 'a', run: 'live', base: 'main' });
    const stale = await worktrees.create({ loop: 'a', run: 'stale', base: 'main' });
    await rm(stale.path, { recursive: true, force: true });
    // Folders git no longer knows: one whose branch holds all it has, one with a file no branch has,
    // one with no branch at all, and an empty one.
    const saved = await worktrees.create({ loop: 'b', run: 'saved', base: 'main' });
    await writeFile(path.join(saved.path, 'work.txt'), 'done\n');
    await worktrees.commitAll(saved.path, 'work');
    const unsaved = await worktrees.create({ loop: 'b', run: 'unsaved', base: 'main' });
    await writeFile(path.join(unsaved.path, 'draft.txt'), 'not committed\n');
    for (const wt of [saved, unsaved])
      await rm(path.join(repo, '.git', 'worktrees', path.basename(wt.path)), { recursive: true });
    const orphan = path.join(repo, '.loops', 'worktrees', 'b', 'orphan');
    await mkdir(orphan, { recursive: true });
    await writeFile(path.join(orphan, 'leftover.txt'), 'x');
    const empty = path.join(repo, '.loops', 'worktrees', 'c', 'empty');
    await mkdir(empty, { recursive: true });

    const report = await worktrees.pruneOrphans();
    expect(report.removed.sort()).toEqual([saved.path, empty].sort());
    expect(report.kept.map((k) => k.path).sort()).toEqual([orphan, unsaved.path].sort());
    expect(report.kept.find((k) => k.path === unsaved.path)?.reason).toContain(
      'has 1 file(s) its branch lacks',
    );
    expect(await readFile(path.join(unsaved.path, 'draft.txt'), 'utf8')).toBe('not committed\n');
    expect(await readFile(path.join(orphan, 'leftover.txt'), 'utf8')).toBe('x');
    expect(existsSync(saved.path)).toBe(false);
    expect(existsSync(path.join(repo, '.loops', 'worktrees', 'c'))).toBe(false);
    expect(existsSync(path.join(live.path, 'README.md'))).toBe(true);
    expect(registered()).toEqual([repo, live.path]);
    expect(branches()).toContain('loops/b/saved'); // the work stays on its branch
  });

  it("keeps an earlier run's worktree with uncommitted work after the repository folder is moved", async () => {
    const worktrees = await Worktrees.open(repo);
    const earlier = await worktrees.create({ loop: 'a', run: 'earlier', base: 'main' });
    await writeFile(path.join(earlier.path, 'uncommitted.txt'), 'precious\n');
    await writeFile(path.join(earlier.path, 'README.md'), 'edited\n');

    const { dir: parent, cleanup: done } = await tempDir('moved');
    try {
      const moved = path.join(parent, 'repo');
      await rename(repo, moved);
      const reopened = await Worktrees.open(moved);
      const report = await reopened.pruneOrphans();
      expect(report).toEqual({ removed: [], kept: [] });
      const wt = path.join(await realpath(moved), '.loops', 'worktrees', 'a', 'earlier');
      expect(await readFile(path.join(wt, 'uncommitted.txt'), 'utf8')).toBe('precious\n');
      // Repaired, not just left there: git knows it again, changes and all.
      expect(sh(wt, 'status', '--porcelain')).toContain('?? uncommitted.txt');
      expect(sh(moved, 'worktree', 'list', '--porcelain')).toContain(`worktree ${wt}`);
      // A second open prunes nothing either.
      expect((await (await Worktrees.open(moved)).pruneOrphans()).removed).toEqual([]);
      await rename(moved, repo);
    } finally {
      await done();
    }
  });
});

describe('opening the supervisor', () => {
  it('reports a worktree folder it kept because it holds work', async () => {
    const worktrees = await Worktrees.open(repo);
    const lost = await worktrees.create({ loop: 'a', run: 'lost', base: 'main' });
    await writeFile(path.join(lost.path, 'draft.txt'), 'not committed\n');
    await rm(path.join(repo, '.git', 'worktrees', 'lost'), { recursive: true });
    const reported: unknown[] = [];
    const supervisor = await Supervisor.open(repo, { env: {}, onError: (e) => reported.push(e) });
    await supervisor.shutdown();
    expect(reported).toEqual([
      expect.stringContaining(
        `${lost.path} is no longer a git worktree but has 1 file(s) its branch lacks: kept`,
      ),
    ]);
    expect(existsSync(path.join(lost.path, 'draft.txt'))).toBe(true);
  });
});

describe('changes in a worktree', () => {
  it('commits everything with a fallback identity when the user has none', async () => {
    const { dir: home, cleanup: done } = await tempDir('home');
    const worktrees = await Worktrees.open(repo);
    const wt = await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    const saved = { ...process.env };
    try {
      process.env.HOME = home;
      process.env.XDG_CONFIG_HOME = home;
      process.env.GIT_CONFIG_NOSYSTEM = '1';
      for (const name of [
        'GIT_AUTHOR_NAME',
        'GIT_AUTHOR_EMAIL',
        'GIT_COMMITTER_NAME',
        'GIT_COMMITTER_EMAIL',
        'EMAIL',
      ]) {
        delete process.env[name];
      }
      expect(await worktrees.commitAll(wt.path, 'nothing yet')).toBeNull();
      await writeFile(path.join(wt.path, 'new.txt'), 'new\n');
      const sha = await worktrees.commitAll(wt.path, 'add new.txt');
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      expect(sha).toBe(await worktrees.headSha(wt.path));
      expect(sh(wt.path, 'log', '-1', '--format=%an <%ae>|%s').trim()).toBe(
        'loops <loops@localhost>|add new.txt',
      );
      expect(sh(wt.path, 'status', '--porcelain')).toBe('');
    } finally {
      process.env = saved;
      await done();
    }
  });

  it('commits as the configured user when there is one', async () => {
    sh(repo, 'config', 'user.name', 'Ada');
    sh(repo, 'config', 'user.email', 'ada@example.com');
    const worktrees = await Worktrees.open(repo);
    const wt = await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    await writeFile(path.join(wt.path, 'x.txt'), 'x');
    await worktrees.commitAll(wt.path, 'x');
    expect(sh(wt.path, 'log', '-1', '--format=%an <%ae>').trim()).toBe('Ada <ada@example.com>');
  });

  it('diffs against a commit including untracked files, without touching the index', async () => {
    const worktrees = await Worktrees.open(repo);
    const wt = await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    await writeFile(path.join(wt.path, 'README.md'), 'hello\nworld\n');
    await mkdir(path.join(wt.path, 'src'));
    await writeFile(path.join(wt.path, 'src', 'added.ts'), 'export const added = true;\n');
    await writeFile(path.join(wt.path, '.gitignore'), 'ignored.log\n');
    await writeFile(path.join(wt.path, 'ignored.log'), 'noise\n');

    const diff = await worktrees.diff(wt.path, wt.baseSha);
    expect(diff).toContain('diff --git a/README.md b/README.md');
    expect(diff).toContain('+world');
    expect(diff).toContain('new file mode 100644');
    expect(diff).toContain('+export const added = true;');
    expect(diff).not.toContain('noise');
    expect(await worktrees.changedFiles(wt.path, wt.baseSha)).toEqual([
      '.gitignore',
      'README.md',
      'src/added.ts',
    ]);
    expect(sh(wt.path, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual([
      ' M README.md',
      '?? .gitignore',
      '?? src/',
    ]);
  });

  it('lists changes across commits, deletions included', async () => {
    const worktrees = await Worktrees.open(repo);
    const wt = await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    await rm(path.join(wt.path, 'README.md'));
    await writeFile(path.join(wt.path, 'a.txt'), 'a');
    await worktrees.commitAll(wt.path, 'swap');
    await writeFile(path.join(wt.path, 'b.txt'), 'b');
    expect(await worktrees.changedFiles(wt.path, wt.baseSha)).toEqual(['README.md', 'a.txt', 'b.txt']);
    expect(await worktrees.diff(wt.path, await worktrees.headSha(wt.path))).toContain('+++ b/b.txt');
  });

  it('resets hard to a commit and removes untracked files, keeping ignored ones', async () => {
    const worktrees = await Worktrees.open(repo);
    const wt = await worktrees.create({ loop: 'a', run: '1', base: 'main' });
    await writeFile(path.join(wt.path, '.gitignore'), 'cache/\n');
    const kept = await worktrees.commitAll(wt.path, 'ignore cache');
    await writeFile(path.join(wt.path, 'README.md'), 'changed\n');
    await mkdir(path.join(wt.path, 'tmp'));
    await writeFile(path.join(wt.path, 'tmp', 'junk.txt'), 'junk');
    await mkdir(path.join(wt.path, 'cache'));
    await writeFile(path.join(wt.path, 'cache', 'data'), 'keep');
    await worktrees.commitAll(wt.path, 'attempt');

    await worktrees.resetHard(wt.path, kept!);
    expect(await worktrees.headSha(wt.path)).toBe(kept);
    expect(await readFile(path.join(wt.path, 'README.md'), 'utf8')).toBe('hello\n');
    expect(existsSync(path.join(wt.path, 'tmp'))).toBe(false);
    expect(existsSync(path.join(wt.path, 'cache', 'data'))).toBe(true);
    expect(sh(wt.path, 'status', '--porcelain')).toBe('');
  });
});
