/**
 * Kill stress (issue 13's Tests): `kill -9` of a real `loops run` at moments drawn from a seed, then
 * what the next loops finds. Checked each time: every trace line before the kill parses; every call
 * the trace saw billed is in the ledger; the next open takes the lock at once and writes exactly one
 * `run.ended`; `loops list` never says running. Every fifth kill is resumed and must reach the
 * uninterrupted run's outcome. Also counted: processes left with their working folder in the run's
 * worktree right after the kill (unsandboxed `run` children outlive loops until they finish).
 *
 * `node --import tsx bench/kill-stress.ts [--kills N] [--seed S]` (default 5 kills; the figures in
 * docs/benchmarks.md are from --kills 100).
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { Supervisor } from '../src/core/supervisor.js';
import { statePaths } from '../src/state/paths.js';
import { readSpendFile } from '../src/state/spend-file.js';
import { readTrace } from '../src/state/trace.js';
import { makeBenchRepo } from './ledger-repo.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

export interface KillStress {
  kills: number;
  killedMidRun: number;
  finishedBeforeKill: number;
  tracesIntact: number;
  ledgerComplete: number;
  oneRunEnded: number;
  listNeverRunning: number;
  openMsMax: number;
  openMsMedian: number;
  resumed: number;
  resumedSameOutcome: number;
  survivorsRightAfterKill: number;
  failures: string[];
}

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

const cli = (dir: string, args: string[]) =>
  execa('node', [CLI, ...args, '-C', dir], { reject: false, env: { ...process.env, CI: '' } });

async function lineCount(file: string): Promise<number> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').length - 1;
}

/** Processes whose working folder is inside `dir` (Linux /proc; 0 elsewhere). */
function processesIn(dir: string): number {
  if (!existsSync('/proc')) return 0;
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) n++;
    } catch {
      // gone, or not ours to read
    }
  }
  return n;
}

export async function runKillStress(kills = 5, seed = 20261202): Promise<KillStress> {
  const dir = await makeBenchRepo(0.05);
  const paths = statePaths(dir);
  const tracesDir = paths.tracesDir('steady');
  const out: KillStress = {
    kills,
    killedMidRun: 0,
    finishedBeforeKill: 0,
    tracesIntact: 0,
    ledgerComplete: 0,
    oneRunEnded: 0,
    listNeverRunning: 0,
    openMsMax: 0,
    openMsMedian: 0,
    resumed: 0,
    resumedSameOutcome: 0,
    survivorsRightAfterKill: 0,
    failures: [],
  };
  const opens: number[] = [];
  try {
    const reference = JSON.parse((await cli(dir, ['run', 'steady', '--headless', '--json'])).stdout) as {
      outcome: string;
      iterations: number;
      run: string;
    };
    const total = await lineCount(paths.trace('steady', reference.run));
    const random = seeded(seed);
    for (let k = 0; k < kills; k++) {
      const moment = 1 + Math.floor(random() * (total - 1));
      const before = new Set(existsSync(tracesDir) ? await readdir(tracesDir) : []);
      const child = execa('node', [CLI, 'run', 'steady', '--headless', '-C', dir], {
        reject: false,
        env: { ...process.env, CI: '' },
      });
      let trace = '';
      for (;;) {
        const fresh = (existsSync(tracesDir) ? await readdir(tracesDir) : []).find((n) => !before.has(n));
        if (fresh) trace = join(tracesDir, fresh);
        if (trace && (await lineCount(trace)) >= moment) break;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGKILL');
      await child;
      const run = trace.slice(trace.lastIndexOf('/') + 1, -'.jsonl'.length);
      const worktree = join(dir, '.loops', 'worktrees', 'steady', run);
      out.survivorsRightAfterKill += processesIn(worktree);
      const fail = (what: string): void => {
        out.failures.push(`kill ${k} (line ${moment}, run ${run}): ${what}`);
      };
      let events;
      try {
        events = await readTrace(trace);
        out.tracesIntact++;
      } catch (err) {
        fail(`trace unreadable: ${String(err)}`);
        continue;
      }
      if (events.some((e) => e.type === 'run.ended')) {
        out.finishedBeforeKill++;
      } else out.killedMidRun++;
      const billed = (await readSpendFile(paths.spendFile('steady', run))).calls.length;
      const responses = events.filter((e) => e.type === 'model.response').length;
      if (billed >= responses && billed <= responses + 1) out.ledgerComplete++;
      else fail(`ledger has ${billed} calls, the trace ${responses} responses`);
      const listed = await cli(dir, ['list']);
      if (!listed.stdout.includes('running')) out.listNeverRunning++;
      else fail(`list says running: ${listed.stdout}`);
      const t0 = performance.now();
      const supervisor = await Supervisor.open(dir);
      opens.push(performance.now() - t0);
      await supervisor.shutdown();
      const ends = (await readTrace(trace)).filter((e) => e.type === 'run.ended').length;
      if (ends === 1) out.oneRunEnded++;
      else fail(`${ends} run.ended events`);
      if (k % 5 === 0 && !events.some((e) => e.type === 'run.ended')) {
        out.resumed++;
        const resumed = await cli(dir, ['resume', 'steady', run, '--json']);
        try {
          const r = JSON.parse(resumed.stdout) as { outcome: string; iterations: number };
          if (r.outcome === reference.outcome && r.iterations === reference.iterations)
            out.resumedSameOutcome++;
          else fail(`resume ended ${r.outcome} after ${r.iterations} iterations`);
        } catch {
          fail(`resume printed no result: ${resumed.stderr}`);
        }
      }
    }
  } finally {
    await rm(dirname(dir), { recursive: true, force: true });
  }
  const sorted = [...opens].sort((a, b) => a - b);
  out.openMsMax = sorted.at(-1) ?? 0;
  out.openMsMedian = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return out;
}

export function formatKillStress(s: KillStress): string {
  return [
    `Kill stress: ${s.kills} kill -9s of a scripted run at seeded moments`,
    `  killed mid-run ${s.killedMidRun}, finished before the kill ${s.finishedBeforeKill}`,
    `  traces intact ${s.tracesIntact}/${s.kills}; every billed call in the ledger ${s.ledgerComplete}/${s.kills}`,
    `  loops list never "running" ${s.listNeverRunning}/${s.kills}; exactly one run.ended after reopening ${s.oneRunEnded}/${s.kills}`,
    `  next open (lock taken over, run closed): median ${s.openMsMedian.toFixed(0)} ms, max ${s.openMsMax.toFixed(0)} ms`,
    `  resumed ${s.resumed}, reaching the uninterrupted outcome ${s.resumedSameOutcome}/${s.resumed}`,
    `  processes in the run's worktree right after the kill (unsandboxed run children): ${s.survivorsRightAfterKill}`,
    ...s.failures.map((f) => `  FAILED ${f}`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { kills: { type: 'string' }, seed: { type: 'string' } } });
  const result = await runKillStress(Number(values.kills ?? 5), Number(values.seed ?? 20261202));
  console.log(formatKillStress(result));
  if (result.failures.length > 0) process.exitCode = 1;
}
