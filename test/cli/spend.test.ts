/**
 * `loops spend` as a user runs it (the built CLI in its own process), over a ledger written through
 * the index: totals per loop, model and day, unpriced calls shown as such, filters, and no lock taken.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateIndex, type RunRecord } from '../../src/state/index-db.js';
import type { CallRecord } from '../../src/state/ledger.js';
import { lockStateDir } from '../../src/state/lock.js';
import { SpendLedger } from '../../src/state/spend-ledger.js';
import { statePaths } from '../../src/state/paths.js';
import type { SpendReport } from '../../src/core/budget/ledger.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from './cli-process.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-spend-'));
});

afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

function call(overrides: Partial<CallRecord>): CallRecord {
  return {
    loop: 'fix-tests',
    run: 'r1',
    iteration: 1,
    step: 'work',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    usage: { input: 1_000, output: 200, cacheRead: 5_000, cacheWrite: 300 },
    usd: 0.25,
    time: '2026-11-20T10:00:00.000Z',
    ...overrides,
  };
}

function run(loop: string, id: string, status: RunRecord['status']): RunRecord {
  return {
    loop,
    run: id,
    status,
    trigger: 'manual',
    startedAt: '2026-11-20T09:00:00.000Z',
    iterations: 1,
    branch: '',
    worktree: '',
  };
}

async function writeLedger(): Promise<void> {
  const index = await StateIndex.open(join(repo.dir, 'state', 'loops.json'));
  await index.upsertRun(run('fix-tests', 'r1', 'failed'));
  await index.upsertRun(run('fix-tests', 'r2', 'verified'));
  await index.upsertRun(run('local', 'r3', 'stopped'));
  const ledger = SpendLedger.open(statePaths(repo.dir), { writable: true });
  const r1 = await ledger.openRun('fix-tests', 'r1');
  r1.record(call({ run: 'r1' }));
  r1.record(call({ run: 'r1', step: 'summary', usd: 0.05 }));
  await r1.close();
  const r2 = await ledger.openRun('fix-tests', 'r2');
  r2.record(call({ run: 'r2', time: '2026-11-21T08:00:00.000Z' }));
  await r2.close();
  // r3 is left open and its rollup unwritten, as a live run's would be: spend still counts it.
  const r3 = await ledger.openRun('local', 'r3');
  r3.record(
    call({
      loop: 'local',
      run: 'r3',
      provider: 'openai',
      model: 'llama3.2',
      usd: null,
      time: '2026-11-21T09:00:00.000Z',
    }),
  );
}

const spend = (...args: string[]) => runCli(['spend', '-C', repo.dir, ...args], { scratch });

describe('loops spend', () => {
  it('prints the report as JSON: totals, loops with $ per verified run, models, days', async () => {
    await writeLedger();
    const result = await spend('--json');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as SpendReport;
    expect(report.total).toMatchObject({ calls: 4, unpricedCalls: 1 });
    expect(report.total.usd).toBeCloseTo(0.55, 10);
    expect(report.total.usage).toEqual({ input: 4_000, output: 800, cacheRead: 20_000, cacheWrite: 1_200 });
    const fix = report.loops.find((l) => l.loop === 'fix-tests');
    expect(fix).toMatchObject({ runs: 2, verifiedRuns: 1 });
    expect(fix?.usdPerVerifiedRun).toBeCloseTo(0.55, 10);
    expect(report.models.find((m) => m.model === 'llama3.2')).toMatchObject({
      calls: 1,
      unpricedCalls: 1,
      usd: 0,
    });
    expect(report.days.map((d) => d.day)).toEqual(['2026-11-20', '2026-11-21']);
    expect(report.steps.map((s) => s.step)).toEqual(['work', 'summary']);
  });

  it('prints tables with the unpriced model shown as unpriced, never $0', async () => {
    await writeLedger();
    const result = await spend();
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('Spend: all loops, all time');
    expect(lines.find((l) => l.startsWith('total'))).toMatch(
      /4\s+4,000\s+800\s+20,000\s+1,200\s+\$0\.5500 \+ 1 unpriced$/,
    );
    expect(lines.find((l) => l.startsWith('openai/llama3.2'))).toMatch(/\bunpriced$/);
    expect(lines.find((l) => l.startsWith('anthropic/claude-haiku-4-5'))).toMatch(/\$0\.5500$/);
    expect(lines.find((l) => l.startsWith('fix-tests'))).toMatch(/\$0\.5500\s+2\s+1\s+\$0\.5500$/);
    expect(lines.find((l) => l.startsWith('2026-11-21'))).toMatch(/\$0\.2500 \+ 1 unpriced$/);
    expect(result.stdout).toContain('Unpriced: 1 call(s)');
  });

  it('filters by loop and by day, and lists the loop’s runs', async () => {
    await writeLedger();
    const byLoop = JSON.parse((await spend('--json', '--loop', 'local')).stdout) as SpendReport;
    expect(byLoop.loop).toBe('local');
    expect(byLoop.total).toMatchObject({ calls: 1, unpricedCalls: 1, usd: 0 });
    const since = JSON.parse((await spend('--json', '--since', '2026-11-21')).stdout) as SpendReport;
    expect(since.total.calls).toBe(2);
    expect(since.total.usd).toBeCloseTo(0.25, 10);
    const text = (await spend('fix-tests')).stdout;
    expect(text).toMatch(/^r1\s+failed\s+2\b/m);
    expect(text).toMatch(/^r2\s+verified\s+1\b/m);
  });

  it('reads the ledger while a supervisor holds the state lock', async () => {
    await writeLedger();
    const lock = await lockStateDir(join(repo.dir, 'state'));
    try {
      const result = await spend('--json');
      expect(result.exitCode).toBe(0);
      expect((JSON.parse(result.stdout) as SpendReport).total.calls).toBe(4);
    } finally {
      await lock.release();
    }
  });

  it('says when nothing was spent, and refuses a malformed day', async () => {
    const empty = await spend();
    expect(empty.exitCode).toBe(0);
    expect(empty.stdout).toBe('No model calls recorded (all loops, all time).');
    const bad = await spend('--since', '2026-13-01');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--since wants a day as YYYY-MM-DD');
  });
});
