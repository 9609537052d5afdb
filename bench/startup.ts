/**
 * Start-up (issue 12 §3): the wall time of each read-only command of the built CLI, each in its own
 * process, against `node -e ''` and a one-line hello world measured in the same run. Every command
 * runs in a repository from the demo project with one finished run (an index, rollups, a trace).
 * Rounds are interleaved, so a change in the machine's load falls on every command alike; medians.
 *
 * What a command loads is checked by a test (test/cli/startup-imports.test.ts); this is the timing.
 */
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { makeBenchRepo } from './ledger-repo.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
// LOOPS_BENCH_BEFORE=/other/checkout/dist/cli.js adds that build's commands to the same rounds, to
// compare before and after a change under the same load.
const BEFORE = process.env.LOOPS_BENCH_BEFORE;

export interface StartupBench {
  rows: Array<{ name: string; ms: number; overNode: number }>;
  nodeMs: number;
  helloMs: number;
  met: boolean;
}

/** `--version` may cost at most this much over a hello world: it reads package.json and nothing else. */
const VERSION_GOAL = 1.3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function timed(args: string[], cwd: string): Promise<number> {
  const started = performance.now();
  const out = await execa('node', args, { reject: false, cwd, env: { ...process.env, CI: '' } });
  const ms = performance.now() - started;
  if (out.exitCode !== 0) throw new Error(`node ${args.join(' ')} failed: ${out.stderr}`);
  return ms;
}

export async function runStartupBench(reps = 7): Promise<StartupBench> {
  const dir = await makeBenchRepo();
  try {
    const hello = join(dir, '..', 'hello.mjs');
    await writeFile(hello, "process.stdout.write('hello\\n');\n");
    const first = await execa('node', [CLI, 'run', 'steady', '--json'], { cwd: dir, reject: false });
    if (first.exitCode !== 0) throw new Error(`the setup run failed: ${first.stderr}`);
    const cases: Array<{ name: string; args: string[] }> = [
      { name: "node -e ''", args: ['-e', ''] },
      { name: 'hello world', args: [hello] },
      { name: 'loops --version', args: [CLI, '--version'] },
      { name: 'loops list', args: [CLI, 'list'] },
      { name: 'loops validate', args: [CLI, 'validate'] },
      { name: 'loops spend', args: [CLI, 'spend'] },
      { name: 'loops trace steady', args: [CLI, 'trace', 'steady'] },
      { name: 'loops run steady (for scale)', args: [CLI, 'run', 'steady', '--json'] },
    ];
    if (BEFORE)
      for (const c of cases.filter((c) => c.args[0] === CLI && !c.name.includes('run')))
        cases.push({ name: `before: ${c.name}`, args: [BEFORE, ...c.args.slice(1)] });
    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (const c of cases) await timed(c.args, dir); // warm the file cache
    for (let i = 0; i < reps; i++) for (const c of cases) times.get(c.name)?.push(await timed(c.args, dir));
    const nodeMs = median(times.get("node -e ''") ?? []);
    const helloMs = median(times.get('hello world') ?? []);
    const rows = cases.map((c) => {
      const ms = median(times.get(c.name) ?? []);
      return { name: c.name, ms, overNode: ms / nodeMs };
    });
    const version = rows.find((r) => r.name === 'loops --version')?.ms ?? Infinity;
    return { rows, nodeMs, helloMs, met: version / helloMs <= VERSION_GOAL };
  } finally {
    await rm(dirname(dir), { recursive: true, force: true });
  }
}

export function formatStartupBench(b: StartupBench): string {
  const lines = ["Start-up: each command's wall time against node -e '' (same run, medians)", ''];
  lines.push("| command | wall | × node -e '' | × hello world |", '|---|---:|---:|---:|');
  for (const r of b.rows)
    lines.push(
      `| ${r.name} | ${r.ms.toFixed(0)} ms | ${r.overNode.toFixed(2)} | ${(r.ms / b.helloMs).toFixed(2)} |`,
    );
  lines.push(
    '',
    `loops --version against a hello world: goal ≤ ${VERSION_GOAL}× (${b.met ? 'met' : 'NOT met'})`,
  );
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runStartupBench(Number(process.argv[2] ?? 7));
  console.log(formatStartupBench(result));
  if (!result.met) process.exitCode = 1;
}
