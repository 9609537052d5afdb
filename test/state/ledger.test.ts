/**
 * The append-only spend ledger: per-run files written as calls are billed, per-loop rollups that
 * absorb each call exactly once, whatever moment a process dies at.
 */
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { CallRecord } from '../../src/state/ledger.js';
import { statePaths } from '../../src/state/paths.js';
import { readSpendFile, SpendFileCorruptError } from '../../src/state/spend-file.js';
import { ROLLUP_SAVE_EVERY_MS, SpendLedger } from '../../src/state/spend-ledger.js';
import { summariseRollups, summariseSpend } from '../../src/core/budget/ledger.js';
import { runUntilKilled } from './kill-child.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();

function call(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    loop: 'fix-tests',
    run: 'r1',
    iteration: 1,
    step: 'work',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    usage: { input: 100, output: 20, cacheRead: 300, cacheWrite: 50, cacheWrite1h: 10 },
    usd: 0.00123,
    time: '2026-11-20T10:00:00.000Z',
    ...overrides,
  };
}

const writer = (): SpendLedger => SpendLedger.open(statePaths(tmp.path), { writable: true });
const reader = (): SpendLedger => SpendLedger.open(statePaths(tmp.path), { writable: false });

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
}

describe('the spend ledger', () => {
  it('appends each call to its run file as it is recorded, before any flush', async () => {
    const log = await writer().openRun('fix-tests', 'r1');
    log.record(call());
    const file = statePaths(tmp.path).spendFile('fix-tests', 'r1');
    expect((await lines(file)).map((l) => JSON.parse(l) as unknown)).toEqual([call()]);
    log.record(call({ iteration: 2, usd: null }));
    expect(await lines(file)).toHaveLength(2);
    await log.close();
    const totals = await reader().runTotals('fix-tests', 'r1');
    expect(totals).toMatchObject({ calls: 2, unpricedCalls: 1, usd: 0.00123 });
  });

  it('counts calls appended after the last rollup write once, however often it is reopened', async () => {
    const log = await writer().openRun('fix-tests', 'r1');
    log.record(call());
    await log.flush(); // rollup on disk has 1 call
    log.record(call({ iteration: 2 }));
    log.record(call({ iteration: 3 })); // killed here: the rollup never saw these two
    for (let i = 0; i < 3; i++) {
      expect((await reader().runTotals('fix-tests', 'r1'))?.calls).toBe(3);
      expect((await writer().runTotals('fix-tests', 'r1'))?.calls).toBe(3);
    }
    const rollup = JSON.parse(await readFile(statePaths(tmp.path).spendTotals('fix-tests'), 'utf8')) as {
      files: Record<string, { offset: number }>;
    };
    const size = (await readFile(statePaths(tmp.path).spendFile('fix-tests', 'r1'))).length;
    expect(rollup.files.r1?.offset).toBe(size);
  });

  it('writes the rollup at an iteration end at most every ROLLUP_SAVE_EVERY_MS, at close always, with readers never behind', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const totalsFile = statePaths(tmp.path).spendTotals('fix-tests');
      const onDisk = async (): Promise<number | undefined> => {
        const text = await readFile(totalsFile, 'utf8').catch(() => '{"files":{}}');
        const data = JSON.parse(text) as {
          files: Record<string, { offset: number }>;
        };
        return data.files.r1?.offset;
      };
      const log = await writer().openRun('fix-tests', 'r1');
      const opened = await onDisk();
      log.record(call());
      await log.flush(); // just opened: not due
      expect(await onDisk()).toBe(opened);
      expect((await reader().runTotals('fix-tests', 'r1'))?.calls).toBe(1);
      vi.advanceTimersByTime(ROLLUP_SAVE_EVERY_MS);
      log.record(call({ iteration: 2 }));
      await log.flush(); // due: written
      const file = statePaths(tmp.path).spendFile('fix-tests', 'r1');
      const twoCalls = (await readFile(file)).length;
      expect(await onDisk()).toBe(twoCalls);
      log.record(call({ iteration: 3 }));
      await log.flush(); // written a moment ago: not due
      expect(await onDisk()).toBe(twoCalls);
      expect((await reader().runTotals('fix-tests', 'r1'))?.calls).toBe(3);
      await log.close();
      expect(await onDisk()).toBe((await readFile(file)).length);
      expect((await reader().runTotals('fix-tests', 'r1'))?.calls).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('skips a torn last line when reading, and cuts it off before appending again', async () => {
    const file = statePaths(tmp.path).spendFile('fix-tests', 'r1');
    const log = await writer().openRun('fix-tests', 'r1');
    log.record(call());
    await log.flush();
    await appendFile(file, '{"loop":"fix-tests","run":"r1","itera');
    const chunk = await readSpendFile(file);
    expect(chunk.calls).toHaveLength(1);
    expect(chunk.tail).toBeGreaterThan(0);
    expect((await reader().runTotals('fix-tests', 'r1'))?.calls).toBe(1);
    const again = await writer().openRun('fix-tests', 'r1');
    again.record(call({ iteration: 2 }));
    await again.close();
    expect((await readSpendFile(file)).calls.map((c) => c.iteration)).toEqual([1, 2]);
    expect((await reader().runTotals('fix-tests', 'r1'))?.calls).toBe(2);
  });

  it('refuses a damaged line before the last, naming the file and line', async () => {
    const file = statePaths(tmp.path).spendFile('fix-tests', 'r1');
    await writer().openRun('fix-tests', 'r1');
    await writeFile(file, `${JSON.stringify(call())}\n{"loop": 1}\n${JSON.stringify(call())}\n`);
    await expect(readSpendFile(file)).rejects.toBeInstanceOf(SpendFileCorruptError);
    await expect(reader().runTotals('fix-tests', 'r1')).rejects.toThrow(`${file}:2: not a spend record`);
  });

  it('rebuilds a deleted rollup from the run files with the same report', async () => {
    const ledger = writer();
    const calls = [
      call(),
      call({ run: 'r2', model: 'claude-haiku-4-5', usd: 0.1, time: '2026-11-21T01:00:00.000Z' }),
      call({ run: 'r2', step: 'summary', usd: null, time: '2026-11-21T02:00:00.000Z' }),
    ];
    for (const run of ['r1', 'r2']) {
      const log = await ledger.openRun('fix-tests', run);
      for (const c of calls.filter((x) => x.run === run)) log.record(c);
      await log.close();
    }
    const before = summariseRollups(await reader().allRollups(), []);
    expect(before).toEqual(summariseSpend(calls, []));
    await rm(statePaths(tmp.path).spendTotals('fix-tests'));
    expect(summariseRollups(await reader().allRollups(), [])).toEqual(before);
  });

  it('loses nothing and counts nothing twice when its writer is killed mid-append', async () => {
    // Several kills at moments set by how many calls the child has reported (no clock involved).
    for (const killAfter of [1, 23, 160]) {
      const repo = path.join(tmp.path, `kill-${killAfter}`);
      const reported = await runUntilKilled('append-spend.ts', [repo, '5'], killAfter);
      const file = statePaths(repo).spendFile('fix-tests', 'killed');
      const chunk = await readSpendFile(file);
      // Every call the child said it appended is there, in order, once; at most one more got written.
      expect(chunk.calls.length).toBeGreaterThanOrEqual(reported);
      expect(chunk.calls.length).toBeLessThanOrEqual(reported + 1);
      expect(chunk.calls.map((c) => c.iteration)).toEqual(chunk.calls.map((_, i) => i));
      for (let open = 0; open < 2; open++) {
        const totals = await SpendLedger.open(statePaths(repo), { writable: true }).runTotals('fix-tests', 'killed');
        expect(totals?.calls).toBe(chunk.calls.length);
        expect(totals?.usage.input).toBe(100 * chunk.calls.length);
      }
    }
  });
});
