import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WatchJob } from '../../src/triggers/watch.js';
import { mergeRun } from '../../src/workspace/review.js';
import type { TriggerContext } from '../../src/core/trigger-context.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { definition, fakeContext, type FakeContext } from './fake-context.js';

let repo: TestRepo;
let fake: FakeContext;
let job: WatchJob | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await job?.stop();
  job = undefined;
  await fake.cleanup();
  await repo.cleanup();
});

const poll = { timeout: 30_000, interval: 25 };

function write(rel: string, text = `${rel} ${Math.random()}\n`): void {
  const file = join(repo.dir, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

async function watching(frontMatter: string): Promise<WatchJob> {
  fake = await fakeContext([await definition('watcher', frontMatter, repo.dir)], repo.dir);
  job = new WatchJob();
  await job.start(fake.ctx);
  return job;
}

const starts = (): TriggerContext[] =>
  fake.sent.flatMap((c) => (c.type === 'start' && c.context ? [c.context] : []));

/** Waits for the n-th start, then for any batch still being checked, and returns all starts. */
async function startsAfter(n: number, w: WatchJob): Promise<TriggerContext[]> {
  await vi.waitFor(() => expect(starts().length).toBeGreaterThanOrEqual(n), poll);
  await w.settled();
  return starts();
}

describe('the watch trigger', () => {
  it('starts once for changes that come together, listing the changed files under its globs', async () => {
    const w = await watching('trigger: { watch: ["src/**/*.js"], debounce: 1 }');
    expect(w.watched()).toEqual(['src']);
    write('src/one.js');
    write('src/deep/two.js');
    write('src/notes.txt'); // under the folder, not under the glob
    const [first] = await startsAfter(1, w);
    expect(first).toMatchObject({ kind: 'watch', files: ['src/deep/two.js', 'src/one.js'] });
    expect(first?.detail).toBe('2 files changed: src/deep/two.js, src/one.js');
    expect(fake.sent[0]).toMatchObject({ type: 'start', loop: 'watcher', overlap: 'queue' });
    expect(fake.emitted.map((e) => e.body)).toContainEqual(
      expect.objectContaining({ type: 'trigger.fired', trigger: 'watch', status: 'started' }),
    );
    // A later change is a new event, with only its own file.
    write('src/one.js');
    const all = await startsAfter(2, w);
    expect(all).toHaveLength(2);
    expect(all[1]?.files).toEqual(['src/one.js']);
  });

  it("never looks into loops' worktrees, state/, .git/ or node_modules/", async () => {
    const w = await watching('trigger: { watch: ["**"], debounce: 0.5 }');
    write('.loops/worktrees/watcher/r1/src/index.js');
    write('state/watcher/MEMORY.md');
    write('.git/loops-test-file');
    write('node_modules/pkg/index.js');
    write('lib/node_modules/pkg/index.js');
    write('src/sentinel.js');
    const all = await startsAfter(1, w);
    expect(all).toHaveLength(1);
    expect(all[0]?.files).toEqual(['src/sentinel.js']);
  });

  it("does not start for a merge loops made in the checkout, but does for a person's merge", async () => {
    const w = await watching('trigger: { watch: ["src/**"], debounce: 0.5 }');
    const branch = async (name: string, file: string): Promise<void> => {
      await repo.git('checkout', '-q', '-b', name);
      write(file);
      await repo.git('add', '-A');
      await repo.git('commit', '-q', '-m', `work on ${name}`);
      await repo.git('checkout', '-q', '-');
    };
    // The branches are made while the watcher runs: checking them out changes files too, and those
    // changes end equal to HEAD on a person's commit, so they count as a person's (they may start runs).
    await branch('loops/watcher/r1', 'src/merged-by-loops.js');
    await branch('feature', 'src/merged-by-person.js');
    await vi.waitFor(async () => {
      await w.settled();
      const before = fake.sent.length;
      write('src/marker.js');
      await vi.waitFor(() => expect(fake.sent.length).toBeGreaterThan(before), poll);
      await w.settled();
    }, poll);
    const seen = fake.sent.length;

    await repo.git(
      'merge',
      '-q',
      '--no-ff',
      '-m',
      'Merge loops run r1 of watcher (loops/watcher/r1)',
      'loops/watcher/r1',
    );
    write('src/sentinel.js');
    const afterLoops = await startsAfter(seen + 1, w);
    expect(afterLoops).toHaveLength(seen + 1);
    expect(afterLoops.at(-1)?.files).toEqual(['src/sentinel.js']);

    await repo.git('merge', '-q', '--no-ff', '-m', 'Merge branch feature', 'feature');
    const afterPerson = await startsAfter(seen + 2, w);
    expect(afterPerson.at(-1)?.files).toEqual(['src/merged-by-person.js']);
  });

  it("does not start for a review merge of a run whose last commit is the agent's own (no fast-forward)", async () => {
    const w = await watching('trigger: { watch: ["src/**"], debounce: 0.5 }');
    // The agent committed by itself in the run's worktree: its subject is not one of loops'.
    await repo.git('checkout', '-q', '-b', 'loops/watcher/r2');
    write('src/agent-wrote.js');
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'fix the cart total');
    await repo.git('checkout', '-q', '-');
    await vi.waitFor(async () => {
      await w.settled();
      const before = fake.sent.length;
      write('src/marker.js');
      await vi.waitFor(() => expect(fake.sent.length).toBeGreaterThan(before), poll);
      await w.settled();
    }, poll);
    const seen = fake.sent.length;

    // main could fast-forward to the run's branch; the review merge (as review-port.ts words it)
    // writes a merge commit of loops' own instead, so the files it brings in start nothing.
    const merged = await mergeRun(
      repo.dir,
      { branch: 'loops/watcher/r2', baseBranch: 'main' },
      'Merge loops run r2 of watcher (loops/watcher/r2)',
    );
    expect(merged).toMatchObject({ ok: true });
    expect(await repo.git('log', '-1', '--format=%s%n%P', 'main')).toMatch(
      /^Merge loops run r2 .*\n\S+ \S+$/,
    );
    write('src/sentinel.js');
    const all = await startsAfter(seen + 1, w);
    expect(all).toHaveLength(seen + 1);
    expect(all.at(-1)?.files).toEqual(['src/sentinel.js']);
  });

  it('records a start the supervisor let go as skipped', async () => {
    const w = await watching('trigger: { watch: ["src/**"], debounce: 0.2, overlap: drop }');
    fake.answer = () => ({
      ok: false,
      status: 'refused',
      reason: 'dropped: watcher is running (overlap: drop)',
    });
    write('src/a.js');
    await startsAfter(1, w);
    expect(fake.sent[0]).toMatchObject({ overlap: 'drop' });
    expect(fake.emitted.map((e) => e.body)).toContainEqual(
      expect.objectContaining({ type: 'trigger.fired', status: 'skipped', trigger: 'watch' }),
    );
  });

  it('follows an edited LOOP.md: new globs are watched, removed ones are not', async () => {
    const w = await watching('trigger: { watch: ["src/**"], debounce: 0.2 }');
    expect(w.watched()).toEqual(['src']);
    fake.defs = [
      await definition('watcher', 'trigger: { watch: ["docs/**/*.md"], debounce: 0.2 }', repo.dir),
    ];
    fake.publish({ type: 'loops.changed', added: [], removed: [], changed: ['watcher'] } as never);
    // docs/ does not exist yet: its nearest existing parent (the root) is watched, to see it appear.
    await w.settled();
    expect(w.watched()).toEqual(['']);
    write('src/old.js');
    write('docs/new/guide.md');
    const all = await startsAfter(1, w);
    expect(all).toHaveLength(1);
    expect(all[0]?.files).toEqual(['docs/new/guide.md']);
  });

  it('reports watcher errors instead of dying', async () => {
    const w = await watching('trigger: { watch: ["src/**"] }');
    const watcher = (w as unknown as { watcher: NodeJS.EventEmitter }).watcher;
    watcher.emit('error', new Error('EMFILE: too many open files'));
    expect(String(fake.errors[0])).toContain('watch: EMFILE');
  });
});
