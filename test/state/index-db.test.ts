import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/state/index-db.js';
import { INDEX_VERSION, INTERRUPTED_REASON, StateIndex, StateIndexError } from '../../src/state/index-db.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();

function record(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    loop: 'fix-tests',
    run: '20261124-071502-a3f9',
    status: 'running',
    trigger: 'manual',
    startedAt: '2026-11-24T07:15:02.000Z',
    iterations: 0,
    branch: 'loops/fix-tests/20261124-071502-a3f9',
    worktree: '/repo/.loops/worktrees/fix-tests/20261124-071502-a3f9',
    ...overrides,
  };
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}

describe('StateIndex', () => {
  it('starts empty without creating the file, and writes the current version on the first upsert', async () => {
    const file = path.join(tmp.path, 'state', 'loops.json');
    const index = await StateIndex.open(file);
    expect(index.runs()).toEqual([]);
    expect(await readdir(path.dirname(file))).toEqual([]);

    await index.upsertRun(record());
    expect(await readJson(file)).toEqual({ version: INDEX_VERSION, runs: [record()] });
  });

  it('upserts by loop and run, and reopens with the same records', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await StateIndex.open(file);
    await index.upsertRun(record());
    await index.upsertRun(record({ loop: 'docs', run: 'r2', startedAt: '2026-11-24T08:00:00.000Z' }));
    const done = record({
      status: 'verified',
      iterations: 3,
      endedAt: '2026-11-24T07:20:00.000Z',
      reason: 'all graders passed',
      usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 4 },
    });
    await index.upsertRun(done);

    expect(index.runs('fix-tests')).toEqual([done]);
    const reopened = await StateIndex.open(file);
    expect(reopened.runs()).toEqual([done, record({ loop: 'docs', run: 'r2', startedAt: '2026-11-24T08:00:00.000Z' })]);
  });

  it('keeps every change when upserts are not awaited one by one (writes in flight coalesce)', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await StateIndex.open(file);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        index.upsertRun(record({ run: `r${String(i).padStart(2, '0')}`, iterations: i })),
      ),
    );
    const onDisk = (await StateIndex.open(file)).runs();
    expect(onDisk.map((r) => r.iterations)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // No temp file left behind; the summary beside the index describes the last write.
    expect((await readdir(tmp.path)).sort()).toEqual(['loops-summary.json', 'loops.json']);
  });

  it('gives the latest run of a loop, by start time', async () => {
    const index = await StateIndex.open(path.join(tmp.path, 'loops.json'));
    await index.upsertRun(record({ run: 'b', startedAt: '2026-11-24T09:00:00.000Z' }));
    await index.upsertRun(record({ run: 'a', startedAt: '2026-11-24T10:00:00.000Z' }));
    await index.upsertRun(record({ loop: 'other', run: 'c', startedAt: '2026-11-24T11:00:00.000Z' }));
    expect(index.lastRun('fix-tests')?.run).toBe('a');
    expect(index.lastRun('nope')).toBeUndefined();
  });

  it('hands out copies: changing a returned record changes nothing stored', async () => {
    const index = await StateIndex.open(path.join(tmp.path, 'loops.json'));
    const mine = record();
    await index.upsertRun(mine);
    mine.status = 'failed';
    const got = index.lastRun('fix-tests');
    if (got) got.iterations = 99;
    expect(index.lastRun('fix-tests')).toEqual(record());
  });

  it('lists the runs still marked running, and finds one run by loop and id', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const before = await StateIndex.open(file);
    await before.upsertRun(record({ run: 'crashed' }));
    await before.upsertRun(record({ run: 'done', status: 'verified', endedAt: '2026-11-24T07:16:00.000Z' }));
    const after = await StateIndex.open(file);
    expect(after.runningRuns().map((r) => r.run)).toEqual(['crashed']);
    expect(after.run('fix-tests', 'done')?.status).toBe('verified');
    expect(after.run('fix-tests', 'nope')).toBeUndefined();
    expect(INTERRUPTED_REASON).toBe('interrupted: loops exited during the run');
  });

  it('writes to disk even with NODE_ENV=test (no memory-adapter preset)', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'test';
    try {
      const index = await StateIndex.open(file);
      await index.upsertRun(record());
    } finally {
      process.env.NODE_ENV = saved;
    }
    expect(await readJson(file)).toEqual({ version: INDEX_VERSION, runs: [record()] });
  });

  it('keeps top-level keys it does not know', async () => {
    const file = path.join(tmp.path, 'loops.json');
    await writeFile(file, JSON.stringify({ version: 1, runs: [], schedules: { a: 1 } }));
    const index = await StateIndex.open(file);
    await index.upsertRun(record());
    expect(await readJson(file)).toMatchObject({ version: 1, schedules: { a: 1 } });
  });

  it('refuses a half-written file with an error naming it, and leaves it as it was', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const half = '{\n  "version": 1,\n  "runs": [\n    {"loop": "fix-';
    await writeFile(file, half);
    const opening = StateIndex.open(file);
    await expect(opening).rejects.toBeInstanceOf(StateIndexError);
    await expect(opening).rejects.toThrow(`${file} is not a readable loops index (invalid JSON`);
    expect(await readFile(file, 'utf8')).toBe(half);
  });

  it('refuses an empty file', async () => {
    const file = path.join(tmp.path, 'loops.json');
    await writeFile(file, '');
    await expect(StateIndex.open(file)).rejects.toThrow(StateIndexError);
  });

  it('refuses a file of another version or shape, saying where', async () => {
    const file = path.join(tmp.path, 'loops.json');
    await writeFile(file, JSON.stringify({ version: 3, runs: [] }));
    await expect(StateIndex.open(file)).rejects.toThrow(/loops\.json is not a readable loops index \(format version 3, /);
    await writeFile(file, JSON.stringify({ version: 1, runs: [{ loop: 'x' }] }));
    await expect(StateIndex.open(file)).rejects.toThrow(/\(runs\.0\.run: /);
  });
});
