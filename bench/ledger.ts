/**
 * The ledger benchmark (issue 12's Measure): what history costs.
 *
 * - The same scripted run (three iterations, `steady`) in repositories with 0, 10k and 100k past
 *   ledger entries: open, run, shut down, in this process. Goal: 100k ≤ 1.1× 0.
 * - `loops list` and `loops spend` (the built CLI, its own process) at 100k entries against a fresh
 *   repository. Goal: ≤ 1.2×.
 *
 * Each figure is the median of several repetitions (the CLI commands: at least CLI_REPS), measured in
 * one process against a baseline measured in the same run.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Supervisor } from '../src/core/supervisor.js';
import { makeBenchRepo, seedHistory } from './ledger-repo.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
/** Rounds of each CLI command, at least (fresh and 100k alternated). */
const CLI_REPS = 9;

export interface LedgerBench {
  run: Array<{ entries: number; ms: number }>;
  cli: Array<{ command: string; freshMs: number; fullMs: number }>;
  runRatio: number;
  cliRatios: Record<string, number>;
  met: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function timedRun(dir: string): Promise<number> {
  const started = performance.now();
  const supervisor = await Supervisor.open(dir);
  const result = await supervisor.start('steady', 'bench');
  await supervisor.shutdown();
  if (result.outcome !== 'verified') throw new Error(`bench run ended ${result.outcome}: ${result.reason}`);
  return performance.now() - started;
}

async function timedCli(dir: string, args: string[]): Promise<number> {
  const started = performance.now();
  const out = await execa('node', [CLI, ...args, '-C', dir], {
    reject: false,
    env: { ...process.env, CI: '' },
  });
  if (out.exitCode !== 0) throw new Error(`loops ${args.join(' ')} failed: ${out.stderr}`);
  return performance.now() - started;
}

export async function runLedgerBench(reps = 5): Promise<LedgerBench> {
  const sizes = [0, 10_000, 100_000];
  const repos = new Map<number, string>();
  for (const n of sizes) {
    const dir = await makeBenchRepo();
    await seedHistory(dir, n);
    repos.set(n, dir);
  }
  try {
    // Warm-up: the first run in a process pays for module loading.
    await timedRun(repos.get(0) ?? '');
    const times = new Map<number, number[]>(sizes.map((n) => [n, []]));
    // Interleaved, so machine load drifts hit every size alike.
    for (let i = 0; i < reps; i++)
      for (const n of sizes) times.get(n)?.push(await timedRun(repos.get(n) ?? ''));
    const run = sizes.map((n) => ({ entries: n, ms: median(times.get(n) ?? []) }));
    const cli: LedgerBench['cli'] = [];
    // A command takes a few hundred ms, so more rounds cost little and steady the medians under load.
    const cliReps = Math.max(reps, CLI_REPS);
    for (const args of [['list'], ['spend'], ['spend', '--json']]) {
      const fresh: number[] = [];
      const full: number[] = [];
      for (let i = 0; i < cliReps; i++) {
        fresh.push(await timedCli(repos.get(0) ?? '', args));
        full.push(await timedCli(repos.get(100_000) ?? '', args));
      }
      cli.push({ command: `loops ${args.join(' ')}`, freshMs: median(fresh), fullMs: median(full) });
    }
    const base = run[0]?.ms ?? 1;
    const runRatio = (run[2]?.ms ?? 0) / base;
    const cliRatios = Object.fromEntries(cli.map((c) => [c.command, c.fullMs / c.freshMs]));
    const met = runRatio <= 1.1 && Object.values(cliRatios).every((r) => r <= 1.2);
    return { run, cli, runRatio, cliRatios, met };
  } finally {
    for (const dir of repos.values()) await rm(dirname(dir), { recursive: true, force: true });
  }
}

export function formatLedgerBench(b: LedgerBench): string {
  const lines = ['Ledger: history must not slow a run, loops list or loops spend', ''];
  lines.push('| past ledger entries | scripted run (open, 3 iterations, shut down) |', '|---:|---:|');
  for (const r of b.run) lines.push(`| ${r.entries.toLocaleString('en-US')} | ${r.ms.toFixed(0)} ms |`);
  lines.push(
    '',
    `100k / 0: ${b.runRatio.toFixed(2)}× (goal ≤ 1.1×: ${b.runRatio <= 1.1 ? 'met' : 'NOT met'})`,
    '',
  );
  lines.push('| command | fresh repo | 100k entries | ratio |', '|---|---:|---:|---:|');
  for (const c of b.cli) {
    const ratio = c.fullMs / c.freshMs;
    lines.push(
      `| ${c.command} | ${c.freshMs.toFixed(0)} ms | ${c.fullMs.toFixed(0)} ms | ${ratio.toFixed(2)}× (goal ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'NOT met'}) |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runLedgerBench(Number(process.argv[2] ?? 5));
  console.log(formatLedgerBench(result));
  if (!result.met) process.exitCode = 1;
}
