/**
 * `loops list` and `loops spend` (the built CLI) over the index's summary (state/loops-summary.json):
 * a state folder from before the summary reads the same, gets its summary on the first open holding
 * the lock, and reads the same after; a summary left stale by a change to loops.json is not believed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import { StateIndex, type RunRecord } from '../../src/state/index-db.js';
import { summaryFileFor } from '../../src/state/index-summary.js';
import { statePaths } from '../../src/state/paths.js';
import { SpendLedger } from '../../src/state/spend-ledger.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-list-spend-'));
});

afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

function run(id: string, startedAt: string, status: RunRecord['status']): RunRecord {
  return {
    loop: 'fix-tests',
    run: id,
    status,
    trigger: 'manual',
    startedAt,
    endedAt: startedAt,
    iterations: 1,
    branch: '',
    worktree: '',
  };
}

/** Three ended runs of fix-tests, each with two calls, as a supervisor leaves them. */
async function writeHistory(): Promise<void> {
  const index = await StateIndex.open(statePaths(repo.dir).index);
  const ledger = SpendLedger.open(statePaths(repo.dir), { writable: true });
  const runs = [
    run('20261120-090000-aaaa', '2026-11-20T09:00:00.000Z', 'verified'),
    run('20261121-090000-bbbb', '2026-11-21T09:00:00.000Z', 'budget'),
    run('20261122-090000-cccc', '2026-11-22T09:00:00.000Z', 'verified'),
  ];
  for (const [i, r] of runs.entries()) {
    await index.upsertRun(r);
    const log = await ledger.openRun('fix-tests', r.run);
    for (const step of ['work', 'summary'] as const) {
      log.record({
        loop: 'fix-tests',
        run: r.run,
        iteration: 1,
        step,
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        usage: { input: 1_000 + i, output: 200, cacheRead: 5_000, cacheWrite: 300 },
        usd: 0.1 + i / 100,
        time: r.startedAt.replace('09:00:00', step === 'work' ? '09:01:00' : '09:02:00'),
      });
    }
    await log.close();
  }
}

async function outputs(): Promise<string[]> {
  const out: string[] = [];
  for (const args of [
    ['list'],
    ['spend'],
    ['spend', '--json'],
    ['spend', 'fix-tests', '--since', '2026-11-21'],
  ]) {
    const result = await runCli([...args, '-C', repo.dir], { scratch });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    out.push(result.stdout);
  }
  return out;
}

async function openAndClose(): Promise<void> {
  const supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
  await supervisor.shutdown();
}

describe('list and spend over the index summary', () => {
  it('reads a state folder from before the summary the same before and after it gets one', async () => {
    await writeHistory();
    const summary = summaryFileFor(statePaths(repo.dir).index);
    await rm(summary);
    const before = await outputs();
    expect(before[0]).toMatch(/fix-tests .* verified \(20261122-090000-cccc\)/);
    // The readers wrote nothing.
    expect(existsSync(summary)).toBe(false);

    await openAndClose();
    expect(existsSync(summary)).toBe(true);
    expect(await outputs()).toEqual(before);
  });

  it('does not believe a summary that loops.json no longer matches', async () => {
    await writeHistory();
    await openAndClose();
    const summaryBefore = await readFile(summaryFileFor(statePaths(repo.dir).index), 'utf8');
    // loops.json changed by something that does not write the summary (an older loops, a person).
    const file = statePaths(repo.dir).index;
    const data = JSON.parse(await readFile(file, 'utf8')) as { runs: RunRecord[] };
    for (const r of data.runs) r.status = 'stopped';
    await writeFile(file, JSON.stringify(data, null, 2));

    const [list, , json] = await outputs();
    expect(list).toMatch(/fix-tests .* stopped \(20261122-090000-cccc\)/);
    const report = JSON.parse(json ?? '') as { loops: Array<{ runs: number; verifiedRuns: number }> };
    expect(report.loops[0]).toMatchObject({ runs: 3, verifiedRuns: 0 });

    // The next open holding the lock writes it again, and the figures stay as loops.json says.
    await openAndClose();
    expect(await readFile(summaryFileFor(file), 'utf8')).not.toBe(summaryBefore);
    const [listAfter, , jsonAfter] = await outputs();
    expect(listAfter).toBe(list);
    expect(jsonAfter).toBe(json);
  });
});
