/**
 * `loops improve` and `loops review` as a user runs them (the built CLI): a proposal made and measured
 * from a real run of the demo's tidy-comments, listed, shown, refused without a reason, accepted into
 * a commit, and not decided twice; `improve` refuses while another process holds the state folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProposalView } from '../../src/core/proposals.js';
import { lockStateDir } from '../../src/state/lock.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from './cli-process.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-review-'));
});

afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(['-C', repo.dir, ...args], { scratch });

describe('loops improve and loops review, headless', () => {
  it('makes a measured proposal, lists it, and accepts it into a commit', async () => {
    expect((await cli('review')).stdout).toContain('no proposals yet');
    expect((await cli('run', 'tidy-comments')).exitCode).toBe(3);

    const made = await cli('improve', 'tidy-comments');
    expect(made.stderr).toContain('[tidy-comments] evaluating');
    expect(made.exitCode).toBe(0);
    expect(made.stdout).toMatch(/^p-\d{8}-\d{6}-[0-9a-f]{4} pending: Say that every "Bug:" comment is stale/);
    expect(made.stdout).toContain('effect: verified 0/1 → 1/1, no task lost');

    const listed = await cli('review', '--list', '--json');
    expect(listed.exitCode).toBe(0);
    const views = JSON.parse(listed.stdout) as ProposalView[];
    expect(views.map((v) => [v.loop, v.status, v.file])).toEqual([
      ['tidy-comments', 'pending', 'loops/tidy-comments/SKILL.md'],
    ]);
    const id = views[0]?.id ?? '';
    expect((await cli('review', 'show', id)).stdout).toContain('## Evaluation');

    const noReason = await cli('review', 'reject', id);
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toContain('--reason');

    const accepted = await cli('review', 'accept', id);
    expect(accepted.stderr).toBe('');
    expect(accepted.exitCode).toBe(0);
    expect(accepted.stdout).toMatch(new RegExp(`^accepted ${id}: committed [0-9a-f]{12} on main`));
    expect(await repo.git('log', '-1', '--format=%s')).toContain(`(${id})`);

    const twice = await cli('review', 'reject', id, '--reason', 'changed my mind');
    expect(twice.exitCode).toBe(1);
    expect(twice.stderr).toContain('is accepted');
    expect((await cli('run', 'tidy-comments')).exitCode).toBe(0);
  }, 180_000);

  it('says why when there is nothing to improve, and refuses while the state folder is held', async () => {
    const nothing = await cli('improve', 'tidy-comments');
    expect(nothing.exitCode).toBe(1);
    expect(nothing.stderr).toContain('nothing to improve');
    expect((await cli('improve')).exitCode).toBe(2);

    const lock = await lockStateDir(join(repo.dir, 'state'));
    try {
      const held = await cli('improve', 'tidy-comments');
      expect(held.exitCode).toBe(2);
      expect(held.stderr).toMatch(/state/);
    } finally {
      await lock.release();
    }
  }, 60_000);
});
