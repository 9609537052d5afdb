/**
 * state/loops-summary.json, what `loops list` and `loops spend` read instead of the whole index: it is
 * written after every index write, used only while it describes the loops.json on disk, and written
 * again by the next open holding the lock when it does not.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunOutcome, RunRecord } from '../../src/state/index-db.js';
import { StateIndex } from '../../src/state/index-db.js';
import { IndexSummaryView, summaryFileFor } from '../../src/state/index-summary.js';
import { runUntilKilled } from './kill-child.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();

function record(loop: string, run: string, startedAt: string, status: RunRecord['status']): RunRecord {
  return {
    loop,
    run,
    status,
    trigger: 'manual',
    startedAt,
    iterations: 1,
    branch: `loops/${loop}/${run}`,
    worktree: `/repo/.loops/worktrees/${loop}/${run}`,
  };
}

const RUNS = [
  record('fix-tests', '20261124-070000-aaaa', '2026-11-24T07:00:00.000Z', 'verified'),
  record('docs', '20261124-070100-bbbb', '2026-11-24T07:01:00.000Z', 'budget'),
  // Out of order on purpose: the last run is the latest start, not the last record.
  record('fix-tests', '20261124-090000-cccc', '2026-11-24T09:00:00.000Z', 'failed'),
  record('fix-tests', '20261124-080000-dddd', '2026-11-24T08:00:00.000Z', 'stalled'),
];

function sorted(outcomes: RunOutcome[]): RunOutcome[] {
  return [...outcomes].sort((a, b) => `${a.loop} ${a.run}`.localeCompare(`${b.loop} ${b.run}`));
}

/** What list and spend ask, answered by either reader. */
function answers(view: StateIndex | IndexSummaryView): unknown {
  const brief = (loop: string) => {
    const last = view.lastRun(loop);
    return last && { run: last.run, status: last.status };
  };
  return {
    fixTests: brief('fix-tests'),
    docs: brief('docs'),
    none: brief('never-ran'),
    all: sorted(view.outcomes()),
    docsOnly: sorted(view.outcomes('docs')),
  };
}

async function writtenIndex(file: string): Promise<StateIndex> {
  const index = await StateIndex.open(file);
  for (const r of RUNS) await index.upsertRun(r);
  return index;
}

describe('the index summary', () => {
  it('is written with the index and answers list and spend as the index does', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await writtenIndex(file);
    const view = await StateIndex.openForReading(file);
    expect(view).toBeInstanceOf(IndexSummaryView);
    expect(answers(view as IndexSummaryView)).toEqual(answers(index));
    expect(view?.lastRun('fix-tests')?.run).toBe('20261124-090000-cccc');
    expect(view?.legacyCalls()).toEqual([]);
  });

  it('is not used once loops.json changed without it, and the next refresh writes it again', async () => {
    const file = path.join(tmp.path, 'loops.json');
    await writtenIndex(file);
    // An older loops (or a person) rewrites the index and leaves the summary as it was.
    const data = JSON.parse(await readFile(file, 'utf8')) as { runs: RunRecord[] };
    data.runs.push(record('docs', '20261124-100000-eeee', '2026-11-24T10:00:00.000Z', 'verified'));
    await writeFile(file, JSON.stringify(data, null, 2));

    const stale = await StateIndex.openForReading(file);
    expect(stale).toBeInstanceOf(StateIndex);
    expect(stale?.lastRun('docs')?.run).toBe('20261124-100000-eeee');

    const holder = await StateIndex.open(file);
    await holder.refreshSummary();
    const fresh = await StateIndex.openForReading(file);
    expect(fresh).toBeInstanceOf(IndexSummaryView);
    expect(answers(fresh as IndexSummaryView)).toEqual(answers(holder));
  });

  it('counts a damaged, foreign or missing summary as none and reads the index', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await writtenIndex(file);
    const summary = summaryFileFor(file);
    const good = await readFile(summary, 'utf8');
    for (const text of ['{"version": 1, "ind', JSON.stringify({ ...JSON.parse(good), version: 99 }), '[]']) {
      await writeFile(summary, text);
      const view = await StateIndex.openForReading(file);
      expect(view).toBeInstanceOf(StateIndex);
      expect(answers(view as StateIndex)).toEqual(answers(index));
    }
    await rm(summary);
    expect(await StateIndex.openForReading(file)).toBeInstanceOf(StateIndex);
    expect(await StateIndex.openForReading(path.join(tmp.path, 'none.json'))).toBeUndefined();
  });

  it('writes no summary for an index that still holds a version-1 ledger', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const call = {
      loop: 'fix-tests',
      run: RUNS[0]?.run,
      iteration: 1,
      step: 'work',
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
      usd: 0.001,
      time: '2026-11-24T07:00:01.000Z',
    };
    await writeFile(file, JSON.stringify({ version: 1, runs: [RUNS[0]], calls: [call] }));
    const index = await StateIndex.open(file);
    await index.refreshSummary();
    await index.upsertRun(RUNS[1] as RunRecord);
    const view = await StateIndex.openForReading(file);
    expect(view).toBeInstanceOf(StateIndex);
    expect(view?.legacyCalls()).toHaveLength(1);
  });

  it('leaves a readable index and a true answer whenever its writer is killed', async () => {
    for (const killAfter of [1, 7, 40]) {
      const file = path.join(tmp.path, `kill-${killAfter}`, 'loops.json');
      const reported = await runUntilKilled('upsert-runs.ts', [file], killAfter);
      const index = await StateIndex.open(file);
      // Every run the child said was on disk is there; at most the one in flight besides.
      expect(index.runs().length).toBeGreaterThanOrEqual(reported);
      expect(index.runs().length).toBeLessThanOrEqual(reported + 1);
      const view = await StateIndex.openForReading(file);
      expect(view && answers(view)).toEqual(answers(index));
      await index.refreshSummary();
      const refreshed = await StateIndex.openForReading(file);
      expect(refreshed).toBeInstanceOf(IndexSummaryView);
      expect(answers(refreshed as IndexSummaryView)).toEqual(answers(index));
    }
  });
});
