/**
 * The screen's review port on real git: merging or discarding a finished run's branch is written to
 * that run's trace as a person's decision, and hill-climbing reads a discard as a correction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gitReviewPort } from '../../src/commands/review-port.js';
import { Supervisor } from '../../src/core/supervisor.js';
import { extractSignatures, readTraces, recentRuns } from '../../src/hillclimb/signatures.js';
import { StateIndex } from '../../src/state/index-db.js';
import { statePaths } from '../../src/state/paths.js';
import { readTrace } from '../../src/state/trace.js';
import type { RunRef } from '../../src/ui/review-port.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

/** Runs the loop once and returns its run as the review pane would name it. */
async function finishedRun(dir: string, loop: string): Promise<RunRef> {
  const supervisor = await Supervisor.open(dir, { env: {}, maxRetries: 0 });
  let run: string;
  try {
    run = (await supervisor.start(loop)).run;
  } finally {
    await supervisor.shutdown();
  }
  const record = (await StateIndex.open(statePaths(dir).index)).runs(loop).find((r) => r.run === run);
  if (!record) throw new Error(`no record of ${run}`);
  return {
    loop,
    run,
    branch: record.branch,
    worktree: record.worktree,
    baseBranch: 'main',
    ...(record.baseSha === undefined ? {} : { baseSha: record.baseSha }),
  };
}

describe('the review port writes every decision to the run trace', () => {
  it('records a merge and a discard, and a discard becomes a correction signature', async () => {
    repo = await makeRepo();
    const dir = repo.dir;
    const paths = statePaths(dir);
    const port = gitReviewPort(dir);

    const merged = await finishedRun(dir, 'tidy-comments');
    const before = await readTrace(paths.trace('tidy-comments', merged.run));
    expect(await port.merge(merged)).toMatchObject({ ok: true });
    const afterMerge = await readTrace(paths.trace('tidy-comments', merged.run));
    expect(afterMerge).toHaveLength(before.length + 1);
    expect(afterMerge.at(-1)).toMatchObject({
      type: 'review.decided',
      decision: 'merged',
      branch: merged.branch,
      run: merged.run,
      seq: (before.at(-1)?.seq ?? 0) + 1,
    });

    const discarded = await finishedRun(dir, 'tidy-comments');
    expect(await port.discard(discarded)).toMatchObject({ ok: true });
    const last = (await readTrace(paths.trace('tidy-comments', discarded.run))).at(-1);
    expect(last).toMatchObject({ type: 'review.decided', decision: 'discarded', branch: discarded.branch });

    const index = await StateIndex.open(paths.index);
    const traces = await readTraces(paths, 'tidy-comments', recentRuns(index, 'tidy-comments', 20));
    const corrections = extractSignatures(traces, { holdouts: new Set() }).filter(
      (s) => s.kind === 'correction',
    );
    expect(corrections).toEqual([
      expect.objectContaining({
        summary: "a person discarded the run's work",
        count: 1,
        evidence: [expect.objectContaining({ run: discarded.run, seq: last?.seq })],
      }),
    ]);
  });
});
