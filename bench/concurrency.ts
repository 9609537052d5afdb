/**
 * Concurrency and per-iteration overhead (issue 12 §4 and Measure), against a shell doing the same
 * work on the same machine in the same run, both with the sandbox off:
 *
 * - each iteration writes a line to a file, commits, and runs a trivial grader (the file has N
 *   lines); loops does it through the real Supervisor with a scripted agent (a `run` tool call, a
 *   memory handoff, the commit, the protected-file check, the command grader, trace and ledger);
 *   the shell in a `while` loop in its own git worktree;
 * - overhead: one loop of 12 iterations minus one of 2, per iteration (so opening, the worktree and
 *   shutting down cancel out), loops against the shell; goal ≤ 2×;
 * - concurrency: 8 and 16 loops of 2 iterations in parallel against the same one after another;
 *   goal: loops' speed-up at least 80% of the shell's.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createDemoRepo } from '../src/demo/setup.js';
import { Supervisor } from '../src/core/supervisor.js';
import { script } from './ledger-repo.js';

const OVERHEAD_GOAL = 2;
const SPEEDUP_GOAL = 0.8;

export function loopMd(name: string, lines: number): string {
  return (
    `---\nname: ${name}\nagent: { provider: scripted }\nsandbox: off\n` +
    `verify:\n  - command: test "$(cat progress.txt 2>/dev/null | wc -l)" -ge ${lines}\n` +
    `budget: { iterations: ${lines + 2} }\n---\nAdd one line to progress.txt per iteration.\n`
  );
}

async function makeRepo(loops: Array<{ name: string; lines: number }>): Promise<string> {
  const dir = await createDemoRepo(await mkdtemp(join(tmpdir(), 'loops-bench-conc-')));
  for (const { name, lines } of loops) {
    await mkdir(join(dir, 'loops', name), { recursive: true });
    await writeFile(join(dir, 'loops', name, 'LOOP.md'), loopMd(name, lines));
    await writeFile(join(dir, 'loops', name, 'SCRIPT.yaml'), script());
  }
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: dir });
  await git('add', '-A');
  await git('commit', '-q', '-m', 'bench loops');
  return dir;
}

/** Runs the named loops through one supervisor, all at once or one after another; seconds. */
async function loopsPhase(repo: string, names: string[], parallel: boolean): Promise<number> {
  const supervisor = await Supervisor.open(repo, { maxConcurrent: Math.max(names.length, 1) });
  try {
    const started = performance.now();
    const results = parallel
      ? await Promise.all(names.map((n) => supervisor.start(n, 'bench')))
      : await names.reduce<Promise<Array<{ outcome: string; reason: string }>>>(
          async (acc, n) => [...(await acc), await supervisor.start(n, 'bench')],
          Promise.resolve([]),
        );
    const seconds = (performance.now() - started) / 1000;
    const bad = results.find((r) => r.outcome !== 'verified');
    if (bad) throw new Error(`bench run ended ${bad.outcome}: ${bad.reason}`);
    return seconds;
  } finally {
    await supervisor.shutdown('bench done');
  }
}

let shellRuns = 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The same work in sh: n worktrees, each a while loop of write, commit, grade; seconds. */
async function shellPhase(repo: string, n: number, lines: number, parallel: boolean): Promise<number> {
  const tag = `shell-${shellRuns++}`;
  // The worktrees are made one by one in both modes (concurrent `git worktree add` in one repository
  // contend for its locks; loops makes them under a lock too), then each runs its while loop.
  const one =
    `one() { cd "$1" || return 1; i=0; ` +
    `while [ $i -lt ${lines + 2} ]; do echo x >> progress.txt; git add -A; ` +
    `git -c user.name=b -c user.email=b@b commit -q -m "iteration $i"; ` +
    `test "$(wc -l < progress.txt)" -ge ${lines} && return 0; i=$((i+1)); done; return 1; }\n`;
  const add = (k: string): string => `git worktree add -q -b "bench/${tag}/${k}" "$W/${k}" || exit 1`;
  const body = parallel
    ? `for k in $(seq 1 ${n}); do ${add('$k')}; done\n` +
      `for k in $(seq 1 ${n}); do ( one "$W/$k" || echo "loop $k failed" >&2 ) & done; wait\n`
    : `for k in $(seq 1 ${n}); do ${add('$k')}; one "$W/$k" || exit 1; done\n`;
  const work = join(dirname(repo), tag);
  const started = performance.now();
  const result = await execa('sh', ['-c', one + body], { cwd: repo, env: { W: work }, reject: false });
  const seconds = (performance.now() - started) / 1000;
  if (result.exitCode !== 0 || /failed/.test(result.stderr))
    throw new Error(`the shell loop failed: ${result.stderr}`);
  return seconds;
}

export interface ConcurrencyBench {
  overhead: { loopsMs: number; shellMs: number; ratio: number };
  parallel: Array<{
    n: number;
    loops: { sequential: number; parallel: number; speedup: number };
    shell: { sequential: number; parallel: number; speedup: number };
    share: number;
  }>;
  cpus: number;
  load: number;
  met: boolean;
}

export async function runConcurrencyBench(sizes = [8, 16]): Promise<ConcurrencyBench> {
  const max = Math.max(...sizes);
  const names = Array.from({ length: max }, (_, i) => `c-${String(i + 1).padStart(2, '0')}`);
  const repo = await makeRepo([
    { name: 'long', lines: 12 },
    { name: 'short', lines: 2 },
    ...names.map((name) => ({ name, lines: 2 })),
  ]);
  try {
    const os = await import('node:os');
    const load = os.loadavg()[0] ?? 0;
    // Warm-up: module loading and the file cache.
    await loopsPhase(repo, ['short'], false);
    await shellPhase(repo, 1, 2, false);
    // Medians of three, interleaved: a difference of two timings carries both their noise.
    const samples: Record<'long' | 'short' | 'shellLong' | 'shellShort', number[]> = {
      long: [],
      short: [],
      shellLong: [],
      shellShort: [],
    };
    for (let i = 0; i < 3; i++) {
      samples.long.push(await loopsPhase(repo, ['long'], false));
      samples.short.push(await loopsPhase(repo, ['short'], false));
      samples.shellLong.push(await shellPhase(repo, 1, 12, false));
      samples.shellShort.push(await shellPhase(repo, 1, 2, false));
    }
    const loopsMs = ((median(samples.long) - median(samples.short)) / 10) * 1000;
    const shellMs = ((median(samples.shellLong) - median(samples.shellShort)) / 10) * 1000;
    const parallel: ConcurrencyBench['parallel'] = [];
    for (const n of sizes) {
      const group = names.slice(0, n);
      const lSeq = await loopsPhase(repo, group, false);
      const lPar = await loopsPhase(repo, group, true);
      const sSeq = await shellPhase(repo, n, 2, false);
      const sPar = await shellPhase(repo, n, 2, true);
      const loops = { sequential: lSeq, parallel: lPar, speedup: lSeq / lPar };
      const shell = { sequential: sSeq, parallel: sPar, speedup: sSeq / sPar };
      parallel.push({ n, loops, shell, share: loops.speedup / shell.speedup });
    }
    const ratio = loopsMs / shellMs;
    // A difference at or below zero is noise, not a measurement: never a goal met.
    const met =
      loopsMs > 0 && shellMs > 0 && ratio <= OVERHEAD_GOAL && parallel.every((p) => p.share >= SPEEDUP_GOAL);
    return { overhead: { loopsMs, shellMs, ratio }, parallel, cpus: os.cpus().length, load, met };
  } finally {
    await rm(dirname(repo), { recursive: true, force: true });
  }
}

export function formatConcurrencyBench(b: ConcurrencyBench): string {
  const s = (n: number): string => `${n.toFixed(1)} s`;
  const lines = [
    `Concurrency and overhead against a shell doing the same work (${b.cpus} CPUs, load ${b.load.toFixed(1)} at the start)`,
    '',
    `per iteration: loops ${b.overhead.loopsMs.toFixed(0)} ms, shell ${b.overhead.shellMs.toFixed(0)} ms: ` +
      `${b.overhead.ratio.toFixed(2)}× (goal ≤ ${OVERHEAD_GOAL}×: ${b.overhead.ratio <= OVERHEAD_GOAL ? 'met' : 'NOT met'})`,
    '',
    '| loops at once | loops: one by one / parallel | speed-up | shell: one by one / parallel | speed-up | share of the shell’s |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of b.parallel)
    lines.push(
      `| ${p.n} | ${s(p.loops.sequential)} / ${s(p.loops.parallel)} | ${p.loops.speedup.toFixed(2)}× | ` +
        `${s(p.shell.sequential)} / ${s(p.shell.parallel)} | ${p.shell.speedup.toFixed(2)}× | ` +
        `${(100 * p.share).toFixed(0)}% (goal ≥ ${100 * SPEEDUP_GOAL}%: ${p.share >= SPEEDUP_GOAL ? 'met' : 'NOT met'}) |`,
    );
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const result = await runConcurrencyBench(sizes.length ? sizes : undefined);
  console.log(formatConcurrencyBench(result));
  if (!result.met) process.exitCode = 1;
}
