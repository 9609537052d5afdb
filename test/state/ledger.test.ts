import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateIndex } from '../../src/state/index-db.js';
import type { CallRecord } from '../../src/state/ledger.js';
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

async function onDisk(file: string): Promise<{ calls?: CallRecord[] }> {
  return JSON.parse(await readFile(file, 'utf8')) as { calls?: CallRecord[] };
}

const run = {
  loop: 'fix-tests',
  run: 'r1',
  status: 'running' as const,
  trigger: 'manual',
  startedAt: '2026-11-20T10:00:00.000Z',
  iterations: 0,
  branch: 'loops/fix-tests/r1',
  worktree: '/w',
};

describe('the spend ledger in loops.json', () => {
  it('keeps recorded calls in memory until flushed, then writes them all at once', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await StateIndex.open(file);
    await index.upsertRun(run);
    index.recordCall(call());
    index.recordCall(call({ iteration: 2 }));
    expect(index.pendingCalls).toBe(2);
    expect((await onDisk(file)).calls).toBeUndefined();

    await index.flush();
    expect(index.pendingCalls).toBe(0);
    expect((await onDisk(file)).calls).toEqual([call(), call({ iteration: 2 })]);
  });

  it('writes pending calls with any other write, such as the run record at the end', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await StateIndex.open(file);
    index.recordCall(call({ usd: null, model: 'llama3.2', provider: 'openai' }));
    await index.upsertRun({ ...run, status: 'verified' });
    expect(index.pendingCalls).toBe(0);
    const reopened = await StateIndex.open(file);
    expect(reopened.calls()).toEqual([call({ usd: null, model: 'llama3.2', provider: 'openai' })]);
  });

  it('does not write when there is nothing to flush', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await StateIndex.open(file);
    await index.flush();
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('filters by loop and by UTC day, oldest first, as copies', async () => {
    const file = path.join(tmp.path, 'loops.json');
    const index = await StateIndex.open(file);
    index.recordCall(call({ time: '2026-11-18T23:59:59.000Z' }));
    index.recordCall(call({ loop: 'other', time: '2026-11-19T00:00:00.000Z' }));
    index.recordCall(call({ time: '2026-11-20T08:00:00.000Z' }));
    expect(index.calls({ since: '2026-11-19' }).map((c) => c.time)).toEqual([
      '2026-11-19T00:00:00.000Z',
      '2026-11-20T08:00:00.000Z',
    ]);
    expect(index.calls({ loop: 'fix-tests' }).map((c) => c.time)).toEqual([
      '2026-11-18T23:59:59.000Z',
      '2026-11-20T08:00:00.000Z',
    ]);
    const copy = index.calls()[0];
    if (copy) copy.usage.input = 999_999;
    expect(index.calls()[0]?.usage.input).toBe(100);
  });

  it('reads an index written before the ledger existed, and keeps its runs', async () => {
    const file = path.join(tmp.path, 'loops.json');
    await writeFile(file, JSON.stringify({ version: 1, runs: [run] }));
    const index = await StateIndex.open(file);
    expect(index.calls()).toEqual([]);
    index.recordCall(call());
    await index.flush();
    const data = (await onDisk(file)) as { calls?: CallRecord[]; runs?: unknown[] };
    expect(data.runs).toHaveLength(1);
    expect(data.calls).toHaveLength(1);
  });

  it('refuses a ledger entry of the wrong shape, naming where', async () => {
    const file = path.join(tmp.path, 'loops.json');
    await writeFile(file, JSON.stringify({ version: 1, runs: [], calls: [{ ...call(), usd: 'free' }] }));
    await expect(StateIndex.open(file)).rejects.toThrow(/calls\.0\.usd/);
  });
});
