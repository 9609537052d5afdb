/**
 * A state/loops.json written by the loops before the per-run ledger (fixtures/legacy, with the report
 * that loops printed for it): migrated on first open with every figure unchanged, also when the
 * migration is cut off and repeated; then compacted, still with every figure unchanged.
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summariseRollups, type SpendReport } from '../../src/core/budget/ledger.js';
import { renderSpend } from '../../src/commands/spend.js';
import { compactOlderThan } from '../../src/state/compact.js';
import { INDEX_VERSION, StateIndex } from '../../src/state/index-db.js';
import { migrateLegacyLedger } from '../../src/state/migrate.js';
import { statePaths } from '../../src/state/paths.js';
import { SpendLedger } from '../../src/state/spend-ledger.js';
import { readTrace, TraceWriter } from '../../src/state/trace.js';
import type { LoopEvent } from '../../src/core/events.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'legacy');

interface Expected {
  filter: { loop?: string; since?: string };
  json: SpendReport;
  text: string;
}

async function expected(): Promise<Record<string, Expected>> {
  return JSON.parse(await readFile(path.join(FIXTURE, 'expected-spend.json'), 'utf8')) as Record<string, Expected>;
}

async function installFixture(): Promise<ReturnType<typeof statePaths>> {
  const paths = statePaths(tmp.path);
  await mkdir(paths.root, { recursive: true });
  await copyFile(path.join(FIXTURE, 'loops.json'), paths.index);
  return paths;
}

async function reportNow(paths: ReturnType<typeof statePaths>, filter: Expected['filter']): Promise<SpendReport> {
  const index = await StateIndex.open(paths.index);
  const ledger = SpendLedger.open(paths, { writable: false });
  return summariseRollups(await ledger.allRollups(filter.loop), index.runs(filter.loop), filter);
}

/** Equal, with dollar sums allowed to differ in the last bits (they are added in another order). */
function expectSameFigures(actual: unknown, wanted: unknown, where = 'report'): void {
  if (typeof wanted === 'number' && typeof actual === 'number') {
    expect(Math.abs(actual - wanted), where).toBeLessThanOrEqual(Math.abs(wanted) * 1e-12 + 1e-15);
    return;
  }
  if (Array.isArray(wanted)) {
    expect(Array.isArray(actual), where).toBe(true);
    expect((actual as unknown[]).length, where).toBe(wanted.length);
    wanted.forEach((w, i) => expectSameFigures((actual as unknown[])[i], w, `${where}[${i}]`));
    return;
  }
  if (typeof wanted === 'object' && wanted !== null) {
    expect(Object.keys(actual as object).sort(), where).toEqual(Object.keys(wanted).sort());
    for (const [k, w] of Object.entries(wanted)) expectSameFigures((actual as Record<string, unknown>)[k], w, `${where}.${k}`);
    return;
  }
  expect(actual, where).toEqual(wanted);
}

async function expectAllFiguresUnchanged(paths: ReturnType<typeof statePaths>): Promise<void> {
  for (const [name, want] of Object.entries(await expected())) {
    const got = await reportNow(paths, want.filter);
    expect(renderSpend(got), name).toBe(want.text);
    expectSameFigures(got, want.json, name);
  }
}

describe('migrating a loops.json with the ledger inside', () => {
  it('moves every call to per-run files and rollups with every spend figure unchanged', async () => {
    const paths = await installFixture();
    const legacyCalls = (JSON.parse(await readFile(paths.index, 'utf8')) as { calls: unknown[] }).calls.length;
    const index = await StateIndex.open(paths.index);
    const migration = await migrateLegacyLedger(index, SpendLedger.open(paths, { writable: true }));
    expect(migration).toMatchObject({ calls: legacyCalls, runs: 12, loops: ['docs-sync', 'fix-tests', 'perf'] });
    const onDisk = JSON.parse(await readFile(paths.index, 'utf8')) as { version: number; calls?: unknown; runs: unknown[] };
    expect(onDisk.version).toBe(INDEX_VERSION);
    expect(onDisk.calls).toBeUndefined();
    expect(onDisk.runs).toHaveLength(12);
    expect((await readdir(paths.spendDir('fix-tests'))).filter((n) => n.endsWith('.jsonl'))).toHaveLength(4);
    await expectAllFiguresUnchanged(paths);
    // A second open finds nothing to migrate.
    expect(await migrateLegacyLedger(await StateIndex.open(paths.index), SpendLedger.open(paths, { writable: true }))).toBeUndefined();
    await expectAllFiguresUnchanged(paths);
  });

  it('repeats a migration cut off before the index was rewritten without counting a call twice', async () => {
    const paths = await installFixture();
    const original = await readFile(paths.index, 'utf8');
    await migrateLegacyLedger(await StateIndex.open(paths.index), SpendLedger.open(paths, { writable: true }));
    // As if the process died after the spend files and rollups were written, before the index was.
    await writeFile(paths.index, original);
    await migrateLegacyLedger(await StateIndex.open(paths.index), SpendLedger.open(paths, { writable: true }));
    await expectAllFiguresUnchanged(paths);
  });

  it('compacts old runs: spend files fold into the totals, traces lose detail, no figure changes', async () => {
    const paths = await installFixture();
    const index = await StateIndex.open(paths.index);
    const ledger = SpendLedger.open(paths, { writable: true });
    await migrateLegacyLedger(index, ledger);
    const run = index.runs('fix-tests')[0]?.run ?? '';
    const traceFile = paths.trace('fix-tests', run);
    const events = sampleTrace('fix-tests', run);
    const writer = await TraceWriter.open(traceFile);
    for (const e of events) await writer.append(e);
    await writer.close();
    const sizeBefore = (await readFile(traceFile)).length;
    const spendFiles = async () => (await readdir(paths.spendDir('fix-tests'))).sort();
    const filesBefore = await spendFiles();

    // A dry run lists what it would do, run by run, and writes nothing.
    const when = new Date('2027-01-01T00:00:00.000Z');
    const dry = await compactOlderThan(paths, index, ledger, 1, when, { dryRun: true });
    expect(dry).toMatchObject({ spendFilesRemoved: 12, tracesCompacted: 1 });
    expect(dry.runs).toHaveLength(12);
    expect(dry.runs.find((r) => r.run === run)).toMatchObject({
      loop: 'fix-tests',
      spendBytes: expect.any(Number) as number,
      trace: { before: sizeBefore, after: expect.any(Number) as number },
    });
    expect(await spendFiles()).toEqual(filesBefore);
    expect((await readFile(traceFile)).length).toBe(sizeBefore);
    await expectAllFiguresUnchanged(paths);

    const report = await compactOlderThan(paths, index, ledger, 1, when);
    expect(report).toMatchObject({ spendFilesRemoved: 12, tracesCompacted: 1 });
    expect(report.bytesAfter).toBe(dry.bytesAfter);
    expect((await readdir(paths.spendDir('fix-tests'))).filter((n) => n.endsWith('.jsonl'))).toEqual([]);
    await expectAllFiguresUnchanged(paths);

    const after = await readTrace(traceFile);
    expect((await readFile(traceFile)).length).toBeLessThan(sizeBefore);
    const types = (list: LoopEvent[]): string[] => list.map((e) => e.type).filter((t) => t !== 'model.delta');
    expect(types(after)).toEqual([...types(events), 'trace.compacted']);
    expect(after.filter((e) => e.type === 'run.ended')).toHaveLength(1);
    expect(JSON.stringify(after)).not.toContain('SECRET-LOOKING BULK');

    // Compacting again changes nothing, and a fresh writer reopening the totals still agrees.
    const again = await compactOlderThan(paths, await StateIndex.open(paths.index), SpendLedger.open(paths, { writable: true }), 1, new Date('2027-01-01T00:00:00.000Z'));
    expect(again).toMatchObject({ spendFilesRemoved: 0, tracesCompacted: 0 });
    await expectAllFiguresUnchanged(paths);
  });
});

function sampleTrace(loop: string, run: string): LoopEvent[] {
  const base = { loop, run, iteration: 1, time: '2026-11-18T21:00:00.000Z', span: `run:${run}/i1` };
  const bulk = 'SECRET-LOOKING BULK '.repeat(200);
  return [
    { ...base, iteration: 0, seq: 1, span: `run:${run}`, type: 'run.started', trigger: 'manual', base: 'main', branch: 'b', worktree: '/w', budget: { iterations: 3, tool_calls: null, usd: null, tokens: null, minutes: null }, format: 2 },
    { ...base, seq: 2, type: 'iteration.started' },
    { ...base, seq: 3, type: 'model.delta', text: bulk },
    { ...base, seq: 4, type: 'model.response', provider: 'anthropic', model: 'm', step: 'work', text: bulk, toolCalls: [{ id: 't1', name: 'run', input: { command: bulk } }], stopReason: 'tool_use', usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, durationMs: 5 },
    { ...base, seq: 5, type: 'tool.call', callId: 't1', name: 'run', input: { command: bulk } },
    { ...base, seq: 6, type: 'tool.result', callId: 't1', name: 'run', ok: true, output: bulk, durationMs: 5 },
    { ...base, seq: 7, type: 'iteration.ended', verified: true, passed: ['g'], failed: [] },
    { ...base, seq: 8, type: 'run.ended', outcome: 'verified', reason: 'ok', iterations: 1, toolCalls: 1, usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, spend: { usd: 0, unpricedCalls: 0 }, branch: 'b', worktree: '/w', durationMs: 9 },
  ] as LoopEvent[];
}
