/**
 * loops' own git commands in a worktree the agent controls: every test plants something that would
 * run a script touching a marker file (a hook, an fsmonitor, a filter, an external diff, a swapped
 * .git file) and fails if the marker appears, or if loops' commit lands anywhere but the run's branch.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitProcessCount, gitSpawnCount } from '../../src/workspace/git.js';
import { hiddenEntries } from '../../src/workspace/index-flags.js';
import { Worktrees, type Worktree } from '../../src/workspace/worktrees.js';
import { makeRepo, sh } from './git-repo.js';

let repo: string;
let cleanup: () => Promise<void>;
let worktrees: Worktrees;
let wt: Worktree;
let marker: string;
let script: string;

beforeEach(async () => {
  ({ repo, cleanup } = await makeRepo());
  worktrees = await Worktrees.open(repo);
  wt = await worktrees.create({ loop: 'l', run: 'r', base: 'main' });
  marker = path.join(repo, '..', `${path.basename(repo)}-MARKER`);
  script = path.join(repo, '..', `${path.basename(repo)}-evil.sh`);
  await writeFile(script, `#!/bin/sh\ntouch "${marker}"\ncat\n`);
  await chmod(script, 0o755);
});
afterEach(async () => {
  await cleanup();
  await import('node:fs/promises').then((fs) =>
    Promise.all([fs.rm(marker, { force: true }), fs.rm(script, { force: true })]),
  );
});

/** Everything loops does with a worktree's git in an iteration, and a metric grader's reset. */
async function everything(): Promise<string> {
  await writeFile(path.join(wt.path, 'work.txt'), `work ${Date.now()}\n`);
  await worktrees.commitAll(wt.path, 'iteration');
  const log = branchLog();
  await worktrees.diff(wt.path, wt.baseSha);
  await worktrees.changedFiles(wt.path, wt.baseSha);
  await worktrees.headSha(wt.path);
  await worktrees.resetHard(wt.path, wt.baseSha);
  return log;
}

function branchLog(): string {
  return sh(repo, 'log', '--format=%s', wt.branch);
}

describe('planted config does not make loops run the agent code', () => {
  it('core.hooksPath in the shared .git/config', async () => {
    const hooks = path.join(wt.path, 'hooks');
    await mkdir(hooks);
    for (const hook of [
      'pre-commit',
      'prepare-commit-msg',
      'commit-msg',
      'post-commit',
      'reference-transaction',
      'post-checkout',
    ]) {
      await writeFile(path.join(hooks, hook), `#!/bin/sh\ntouch "${marker}"\n`, { mode: 0o755 });
    }
    sh(wt.path, 'config', 'core.hooksPath', hooks);
    expect(await everything()).toContain('iteration');
    expect(existsSync(marker)).toBe(false);
  });

  it('core.hooksPath in the worktree config (config.worktree)', async () => {
    sh(repo, 'config', 'extensions.worktreeConfig', 'true');
    const hooks = path.join(wt.path, 'hooks');
    await mkdir(hooks);
    await writeFile(path.join(hooks, 'post-commit'), `#!/bin/sh\ntouch "${marker}"\n`, { mode: 0o755 });
    sh(wt.path, 'config', '--worktree', 'core.hooksPath', hooks);
    expect(sh(wt.path, 'config', 'core.hooksPath').trim()).toBe(hooks);
    await everything();
    expect(existsSync(marker)).toBe(false);
  });

  it("hooks in the repository's own hooks folder", async () => {
    for (const hook of ['pre-commit', 'post-commit', 'reference-transaction']) {
      await writeFile(path.join(repo, '.git', 'hooks', hook), `#!/bin/sh\ntouch "${marker}"\n`, {
        mode: 0o755,
      });
    }
    await everything();
    expect(existsSync(marker)).toBe(false);
  });

  it('core.fsmonitor in .git/config and in config.worktree', async () => {
    sh(repo, 'config', 'core.fsmonitor', script);
    await everything();
    expect(existsSync(marker)).toBe(false);
    sh(repo, 'config', '--unset', 'core.fsmonitor');
    sh(repo, 'config', 'extensions.worktreeConfig', 'true');
    sh(wt.path, 'config', '--worktree', 'core.fsmonitor', script);
    await everything();
    expect(existsSync(marker)).toBe(false);
  });

  it('a clean and smudge filter named by a .gitattributes the agent wrote', async () => {
    await writeFile(path.join(wt.path, '.gitattributes'), '* filter=evil\n');
    sh(repo, 'config', 'filter.evil.clean', script);
    sh(repo, 'config', 'filter.evil.smudge', script);
    sh(repo, 'config', 'filter.evil.required', 'true');
    await everything();
    expect(existsSync(marker)).toBe(false);
  });

  it('a filter whose name needs quoting, added after loops first read the config', async () => {
    await worktrees.commitAll(wt.path, 'warm the config cache');
    await writeFile(path.join(wt.path, '.gitattributes'), '* filter=a=b.c\n');
    await writeFile(
      path.join(repo, '.git', 'config'),
      (await readFile(path.join(repo, '.git', 'config'), 'utf8')) +
        `[filter "a=b.c"]\n\tclean = ${script}\n\tprocess = ${script}\n`,
    );
    await everything();
    expect(existsSync(marker)).toBe(false);
  });

  it('an external diff and a textconv driver', async () => {
    await writeFile(path.join(wt.path, '.gitattributes'), '*.txt diff=evil\n');
    sh(repo, 'config', 'diff.external', script);
    sh(repo, 'config', 'diff.evil.textconv', script);
    sh(repo, 'config', 'diff.evil.command', script);
    await writeFile(path.join(wt.path, 'README.md'), 'changed\n');
    expect(await worktrees.diff(wt.path, wt.baseSha)).toContain('+changed');
    await everything();
    expect(existsSync(marker)).toBe(false);
  });

  it('commit signing with a planted gpg program', async () => {
    sh(repo, 'config', 'commit.gpgSign', 'true');
    sh(repo, 'config', 'gpg.program', script);
    expect(await everything()).toContain('iteration');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('a swapped .git file in the worktree', () => {
  it('is never read: the commit lands on the run branch, and the decoy repository runs nothing', async () => {
    const decoy = path.join(repo, '..', `${path.basename(repo)}-decoy`);
    await mkdir(decoy);
    sh(decoy, 'init', '-q', '-b', 'main');
    await writeFile(path.join(decoy, '.git', 'hooks', 'post-commit'), `#!/bin/sh\ntouch "${marker}"\n`, {
      mode: 0o755,
    });
    sh(decoy, 'config', 'core.fsmonitor', script);
    await writeFile(path.join(wt.path, '.git'), `gitdir: ${path.join(decoy, '.git')}\n`);

    await writeFile(path.join(wt.path, 'work.txt'), 'work\n');
    const sha = await worktrees.commitAll(wt.path, 'iteration');
    expect(sha).toBe(sh(repo, 'rev-parse', wt.branch).trim());
    expect(await worktrees.headSha(wt.path)).toBe(sha);
    expect(await worktrees.changedFiles(wt.path, wt.baseSha)).toEqual(['work.txt']);
    expect(existsSync(marker)).toBe(false);
    expect(() => sh(decoy, 'rev-parse', 'HEAD')).toThrow();

    // A second handle on the repository finds the worktree's git dir from the main repository too.
    const again = await Worktrees.open(repo);
    await writeFile(path.join(wt.path, 'more.txt'), 'more\n');
    expect(await again.commitAll(wt.path, 'again')).toBe(sh(repo, 'rev-parse', wt.branch).trim());
    expect(existsSync(marker)).toBe(false);
    // And the worktree can still be removed, with its branch.
    await again.remove(wt.path, { deleteBranch: true });
    expect(existsSync(wt.path)).toBe(false);
    expect(sh(repo, 'branch', '--list', wt.branch)).toBe('');
    await rm(decoy, { recursive: true, force: true });
  });
});

describe('replace refs', () => {
  it("made in a turn are gone from the shared repository after the turn's commit, and reported once", async () => {
    const blob = sh(wt.path, 'rev-parse', 'HEAD:README.md').trim();
    const fake = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: wt.path, input: 'fake\n' })
      .toString()
      .trim();
    sh(wt.path, 'replace', blob, fake);
    expect(sh(repo, 'show', 'main:README.md')).toBe('fake\n');
    await worktrees.commitAll(wt.path, 'turn');
    expect(sh(repo, 'for-each-ref', 'refs/replace')).toBe('');
    expect(sh(repo, 'show', 'main:README.md')).toBe('hello\n');
    expect(await worktrees.dropNewReplaceRefs()).toEqual([`refs/replace/${blob}`]);
    expect(await worktrees.dropNewReplaceRefs()).toEqual([]);
  });
});

describe('changes the index hides', () => {
  it('are committed: assume-unchanged and skip-worktree are cleared first', async () => {
    await writeFile(path.join(wt.path, 'README.md'), 'hidden change\n');
    sh(wt.path, 'update-index', '--assume-unchanged', 'README.md');
    expect(sh(wt.path, 'status', '--porcelain')).toBe('');
    await worktrees.commitAll(wt.path, 'one');
    expect(sh(repo, 'show', `${wt.branch}:README.md`)).toBe('hidden change\n');

    await writeFile(path.join(wt.path, 'README.md'), 'hidden again\n');
    sh(wt.path, 'update-index', '--skip-worktree', 'README.md');
    expect(await worktrees.changedFiles(wt.path, `${wt.branch}`)).toEqual(['README.md']);
    expect(await worktrees.diff(wt.path, wt.branch)).toContain('+hidden again');
    await worktrees.commitAll(wt.path, 'two');
    expect(sh(repo, 'show', `${wt.branch}:README.md`)).toBe('hidden again\n');
  });

  it('are found in index versions 2, 3 and 4', async () => {
    await writeFile(path.join(wt.path, 'a.txt'), 'a\n');
    await writeFile(path.join(wt.path, 'b.txt'), 'b\n');
    sh(wt.path, 'add', '-A');
    const index = sh(wt.path, 'rev-parse', '--git-path', 'index').trim();
    const indexFile = path.isAbsolute(index) ? index : path.join(wt.path, index);
    sh(wt.path, 'update-index', '--assume-unchanged', 'a.txt');
    sh(wt.path, 'update-index', '--index-version', '2');
    expect(await hiddenEntries(indexFile)).toEqual({ assumeUnchanged: ['a.txt'], skipWorktree: [] });
    sh(wt.path, 'update-index', '--skip-worktree', 'b.txt');
    for (const version of ['3', '4']) {
      sh(wt.path, 'update-index', '--index-version', version);
      expect(await hiddenEntries(indexFile)).toEqual({ assumeUnchanged: ['a.txt'], skipWorktree: ['b.txt'] });
    }
    // A split index is not read; commitAll then clears the flags on every path, so it still commits.
    sh(wt.path, 'update-index', '--split-index');
    await expect(hiddenEntries(indexFile)).rejects.toThrow(/split or sparse/);
    await writeFile(path.join(wt.path, 'a.txt'), 'a changed\n');
    await worktrees.commitAll(wt.path, 'split');
    expect(sh(repo, 'show', `${wt.branch}:a.txt`)).toBe('a changed\n');
  });
});

describe('processes per iteration', () => {
  it('commitAll runs two git processes, started from loops as one, whether or not there is something to commit', async () => {
    await worktrees.commitAll(wt.path, 'warm the config cache');
    await writeFile(path.join(wt.path, 'work.txt'), 'work\n');
    let before = gitProcessCount();
    let spawnsBefore = gitSpawnCount();
    const sha = await worktrees.commitAll(wt.path, 'iteration');
    expect(gitProcessCount() - before).toBe(2);
    expect(gitSpawnCount() - spawnsBefore).toBe(1);
    expect(sha).toBe(sh(repo, 'rev-parse', wt.branch).trim());
    expect(sh(repo, 'log', '-1', '--format=%B', wt.branch)).toBe('iteration\n\n');
    before = gitProcessCount();
    spawnsBefore = gitSpawnCount();
    expect(await worktrees.commitAll(wt.path, 'nothing')).toBeNull();
    expect(gitProcessCount() - before).toBe(2);
    expect(gitSpawnCount() - spawnsBefore).toBe(1);
    before = gitProcessCount();
    await worktrees.headSha(wt.path);
    expect(gitProcessCount() - before).toBe(0);
    // The tree of the commit just made is read from its loose object, and is git's answer.
    before = gitProcessCount();
    const tree = await worktrees.headTree(wt.path);
    expect(gitProcessCount() - before).toBe(0);
    expect(tree).toBe(sh(repo, 'rev-parse', `${wt.branch}^{tree}`).trim());
  });

  it('commitAll stages new files and deletions, and says so when staging itself fails', async () => {
    await writeFile(path.join(wt.path, 'new.txt'), 'new\n');
    await rm(path.join(wt.path, 'README.md'));
    // The message reaches git as it is: the shell that runs the two gits never reads it as code.
    const message = 'add and delete: "$HOME" `touch x` $(touch y); exit 3';
    const sha = await worktrees.commitAll(wt.path, message);
    expect(sh(repo, 'log', '-1', '--format=%s', sha ?? '')).toBe(`${message}\n`);
    expect(sh(repo, 'show', '--name-status', '--format=', sha ?? '')).toBe('D\tREADME.md\nA\tnew.txt\n');
    expect(existsSync(path.join(wt.path, 'x')) || existsSync(path.join(wt.path, 'y'))).toBe(false);
    // A held index lock makes `git add` fail: that is reported, and no commit is made.
    const gitDir = sh(wt.path, 'rev-parse', '--absolute-git-dir').trim();
    await writeFile(path.join(gitDir, 'index.lock'), '');
    await writeFile(path.join(wt.path, 'more.txt'), 'more\n');
    await expect(worktrees.commitAll(wt.path, 'blocked')).rejects.toThrow(
      /^staging changes in .* failed: .*index\.lock/,
    );
    expect(sh(repo, 'rev-parse', wt.branch).trim()).toBe(sha);
    await rm(path.join(gitDir, 'index.lock'));
    expect(await worktrees.commitAll(wt.path, 'unblocked')).toBe(sh(repo, 'rev-parse', wt.branch).trim());
  });
});
