/**
 * `kill -9` of a real `loops run` at moments drawn from a seed, then what the next loops does: the
 * trace before the kill intact, every billed call in the ledger, `loops list` never saying running,
 * exactly one `run.ended` (failed, interrupted) and a summary once reopened, the lock taken at once,
 * and `loops resume` reaching the outcome an uninterrupted run reaches.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LoopEvent } from '../../src/core/events.js';
import { Supervisor } from '../../src/core/supervisor.js';
import { StateIndex } from '../../src/state/index-db.js';
import { readSpendFile } from '../../src/state/spend-file.js';
import { statePaths } from '../../src/state/paths.js';
import { readTrace } from '../../src/state/trace.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli, startCli, type RunningCli } from './cli-process.js';

/** Each iteration appends one line with a `run` call; the grader passes at three lines. */
const LOOP =
  '---\nname: steady\nagent: { provider: scripted }\n' +
  'verify:\n  - command: test "$(cat progress.txt 2>/dev/null | wc -l)" -ge 3\n' +
  'budget: { iterations: 6 }\n---\nAdd one line to progress.txt per iteration.\n';
const SCRIPT = [
  'turns:',
  '  - when: { contains: "LINE-ADDED" }',
  '    repeat: true',
  '    text: One more line.',
  '  - when: { step: summary }',
  '    repeat: true',
  '    text: Keep adding lines.',
  '  - repeat: true',
  '    text: Adding a line.',
  '    tool_calls:',
  '      - { name: run, input: { command: "echo x >> progress.txt && sleep 0.1 && echo LINE-ADDED" } }',
  '',
].join('\n');

let repo: TestRepo;
let scratch: string;
const started: RunningCli[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-crash-'));
  await repo.addLoop('steady', LOOP, SCRIPT);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((cli) => cli.kill()));
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const opts = (): { scratch: string; cwd: string } => ({ scratch, cwd: repo.dir });

/** A small deterministic generator (mulberry32): the kill moments are the same on every machine. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function traceFiles(): Promise<string[]> {
  const dir = join(repo.dir, 'state', 'steady', 'traces');
  return existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort() : [];
}

async function lineCount(file: string): Promise<number> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').length - 1;
}

/** Starts `loops run steady`, waits until its (new) trace has `lines` lines, and kills it with SIGKILL. */
async function runAndKill(lines: number): Promise<string> {
  const before = new Set(await traceFiles());
  const cli = startCli(['run', 'steady', '--headless'], opts());
  started.push(cli);
  let trace = '';
  await vi.waitFor(
    async () => {
      const fresh = (await traceFiles()).find((n) => !before.has(n));
      if (!fresh) throw new Error('no trace yet');
      trace = join(repo.dir, 'state', 'steady', 'traces', fresh);
      if ((await lineCount(trace)) < lines) throw new Error(`fewer than ${lines} lines`);
    },
    { timeout: 30_000, interval: 20 },
  );
  cli.signal('SIGKILL');
  await cli.result;
  return trace.slice(trace.lastIndexOf('/') + 1, -'.jsonl'.length);
}

function count(events: LoopEvent[], type: LoopEvent['type']): number {
  return events.filter((e) => e.type === type).length;
}

describe('kill -9 of a running loops', () => {
  it('leaves every record whole, is closed once on the next open, and resumes to the same outcome', async () => {
    // The uninterrupted run, for comparison: verified at iteration 3.
    const clean = await runCli(['run', 'steady', '--headless', '--json'], opts());
    expect(clean.exitCode).toBe(0);
    const reference = JSON.parse(clean.stdout) as { outcome: string; iterations: number; run: string };
    expect(reference).toMatchObject({ outcome: 'verified', iterations: 3 });
    const paths = statePaths(repo.dir);
    const total = await lineCount(paths.trace('steady', reference.run));

    const random = seeded(20261202);
    // Two in the suite (each costs a run, a kill and a resume); bench/kill-stress.ts draws 100.
    const moments = [1, 2].map(() => 2 + Math.floor(random() * (total - 4)));
    for (const moment of moments) {
      const run = await runAndKill(moment);
      const events = await readTrace(paths.trace('steady', run)); // every line before the kill parses
      expect(events.length).toBeGreaterThanOrEqual(moment);
      expect(count(events, 'run.ended')).toBe(0);

      // Every call the trace saw billed is in the ledger (the ledger is written first, so it may hold one more).
      const billed = (await readSpendFile(paths.spendFile('steady', run))).calls.length;
      const responses = count(events, 'model.response');
      expect(billed).toBeGreaterThanOrEqual(responses);
      expect(billed).toBeLessThanOrEqual(responses + 1);

      // Nothing has reopened the state yet: list must not call the dead run running.
      const listed = await runCli(['list'], opts());
      expect(listed.stdout).toMatch(new RegExp(`steady .*failed \\(interrupted\\) \\(${run}\\)`));
      expect(listed.stdout).not.toContain('running');

      // The next open takes the dead process's lock at once and closes the run exactly once.
      const supervisor = await Supervisor.open(repo.dir);
      const recovered = supervisor.recovered.find((r) => r.run === run);
      expect(recovered).toMatchObject({ endedNow: true, usd: 0, toolCalls: count(events, 'tool.call') });
      await supervisor.shutdown();
      const again = await Supervisor.open(repo.dir);
      expect(again.recovered).toEqual([]);
      await again.shutdown();
      const closed = await readTrace(paths.trace('steady', run));
      const ends = closed.filter((e) => e.type === 'run.ended');
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatchObject({ outcome: 'failed' });
      expect(ends[0]?.type === 'run.ended' ? ends[0].reason : '').toMatch(/^interrupted/);
      expect(await readFile(paths.runSummary('steady', run), 'utf8')).toContain('**failed**: interrupted');
      const record = (await StateIndex.open(paths.index)).run('steady', run);
      expect(record?.status).toBe('failed');
      expect((await runCli(['list'], opts())).stdout).toContain(`failed (${run})`);

      // Resumed, it ends where the uninterrupted run ended: verified, three iterations in all.
      const resumed = await runCli(['resume', 'steady', run, '--json'], opts());
      expect(resumed.stderr).toContain(`loops resume: steady run ${run}`);
      const result = JSON.parse(resumed.stdout) as {
        outcome: string;
        iterations: number;
        resumedFrom: string;
      };
      expect(result).toMatchObject({
        outcome: reference.outcome,
        iterations: reference.iterations,
        resumedFrom: run,
      });
      const index = await StateIndex.open(paths.index);
      const next = index.runs('steady').at(-1);
      expect(next?.resumedFrom).toBe(run);
    }
  }, 120_000);

  it('closes a run killed during start-up: an empty trace and no index record', async () => {
    const paths = statePaths(repo.dir);
    await mkdir(paths.tracesDir('steady'), { recursive: true });
    await writeFile(paths.trace('steady', '20261202-010000-dead'), '');
    const supervisor = await Supervisor.open(repo.dir);
    expect(supervisor.recovered.map((r) => r.run)).toEqual(['20261202-010000-dead']);
    await supervisor.shutdown();
    const events = await readTrace(paths.trace('steady', '20261202-010000-dead'));
    expect(events.map((e) => e.type)).toEqual(['run.ended']);
    expect((await StateIndex.open(paths.index)).run('steady', '20261202-010000-dead')?.status).toBe('failed');
    const resumed = await runCli(['resume', 'steady', '20261202-010000-dead'], opts());
    expect(resumed.exitCode).toBe(2);
    expect(resumed.stderr).toContain('never started its first iteration');
  });
});
