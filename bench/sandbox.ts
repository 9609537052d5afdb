/**
 * The sandbox benchmark: what bubblewrap adds to each command the agent or a grader runs. The same
 * commands (`true`, and a small test run: `node -e 0`) go through runShell unconfined and inside a
 * run's sandbox (process/run-sandbox.ts, on a real worktree), and, as the floor no bubblewrap sandbox
 * goes under, inside a bare `bwrap --ro-bind / /`; interleaved so the machine's load affects all alike.
 * Goal: what loops' whole confinement (namespaces, mounts, no network) adds to a command stays under
 * GOAL_SHARE of the smallest test run (an unconfined `node -e 0`). Relative, because bwrap's start-up
 * grows with the machine's load (about 7 ms idle, 20 ms with a load average of 20).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loopFrontMatterSchema, type LoopDefinition } from '../src/core/definition/schema.js';
import { RunSandbox } from '../src/process/run-sandbox.js';
import { noSandbox, type Sandbox } from '../src/process/sandbox.js';
import { runShell } from '../src/process/shell.js';
import { Worktrees } from '../src/workspace/worktrees.js';

const RUNS = 30;
export const GOAL_SHARE = 0.5;

export interface CommandCost {
  command: string;
  plainMs: number;
  bareMs: number;
  sandboxedMs: number;
  /** sandboxed − unconfined */
  addedMs: number;
  /** sandboxed / unconfined */
  ratio: number;
  /** (sandboxed − unconfined) / (bare bwrap − unconfined) */
  overBare: number;
}

/** Bare bubblewrap: the whole file system bound read-only and nothing else. */
const bareBwrap: Sandbox = {
  kind: 'bubblewrap',
  prepareCommand: (r) => ({
    file: 'bwrap',
    args: ['--ro-bind', '/', '/', '--', r.file, ...r.args],
    cwd: r.cwd,
    env: r.env,
  }),
};

export interface SandboxBenchResult {
  commands: CommandCost[];
  met: boolean;
  /** Set when bubblewrap cannot start here: nothing was measured. */
  unavailable?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function timeOnce(command: string, cwd: string, sandbox: Sandbox): Promise<number> {
  const started = performance.now();
  const result = await runShell(command, { cwd, timeoutMs: 30_000, outputCap: 10_000, sandbox });
  if (result.exitCode !== 0) throw new Error(`${command} failed in the benchmark: ${result.output}`);
  return performance.now() - started;
}

export async function runSandboxBench(): Promise<SandboxBenchResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loops-bench-sandbox-'));
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], {
        cwd: dir,
        encoding: 'utf8',
      });
    git('init', '-q', '--initial-branch=main');
    await writeFile(path.join(dir, 'README.md'), 'bench\n');
    git('add', '-A');
    git('commit', '-qm', 'bench');
    const worktrees = await Worktrees.open(dir);
    const tree = await worktrees.create({ loop: 'bench', run: 'r1', base: 'HEAD' });
    const front = loopFrontMatterSchema.parse({ name: 'bench', verify: [{ command: 'true' }] });
    const definition: LoopDefinition = {
      ...front,
      model: 'm',
      task: 't',
      dir: path.join(dir, 'loops', 'bench'),
      file: path.join(dir, 'loops', 'bench', 'LOOP.md'),
      skills: [],
    };
    let sandbox: RunSandbox;
    try {
      sandbox = await RunSandbox.open({ definition, repoRoot: dir, env: process.env });
    } catch (error) {
      return {
        commands: [],
        met: false,
        unavailable: error instanceof Error ? error.message : String(error),
      };
    }
    await sandbox.enter(tree.path);
    const commands: CommandCost[] = [];
    for (const command of ['true', 'node -e 0']) {
      const plain: number[] = [];
      const bare: number[] = [];
      const boxed: number[] = [];
      // Warm every path (page cache, node's first start), then interleave.
      for (const each of [noSandbox, bareBwrap, sandbox]) await timeOnce(command, tree.path, each);
      for (let i = 0; i < RUNS; i++) {
        plain.push(await timeOnce(command, tree.path, noSandbox));
        bare.push(await timeOnce(command, tree.path, bareBwrap));
        boxed.push(await timeOnce(command, tree.path, sandbox));
      }
      const plainMs = median(plain);
      const bareMs = median(bare);
      const sandboxedMs = median(boxed);
      commands.push({
        command,
        plainMs,
        bareMs,
        sandboxedMs,
        addedMs: sandboxedMs - plainMs,
        ratio: sandboxedMs / plainMs,
        overBare: (sandboxedMs - plainMs) / Math.max(0.1, bareMs - plainMs),
      });
    }
    await sandbox.dispose();
    const nodeRun = commands.find((c) => c.command.startsWith('node'))?.plainMs ?? 0;
    return { commands, met: commands.every((c) => c.addedMs <= GOAL_SHARE * nodeRun) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatSandboxBench(r: SandboxBenchResult): string {
  if (r.unavailable !== undefined) return `sandbox: not measured: ${r.unavailable}`;
  const ms = (v: number): string => `${v.toFixed(1).padStart(6)} ms`;
  const rows = r.commands.map(
    (c) =>
      `  ${c.command.padEnd(10)} unconfined ${ms(c.plainMs)}  bare bwrap ${ms(c.bareMs)}  loops' sandbox ${ms(c.sandboxedMs)}` +
      `  added ${ms(c.addedMs)}  ×${c.ratio.toFixed(2)} of unconfined, ${c.overBare.toFixed(2)}× bare bwrap's cost`,
  );
  return [
    `sandbox: cost per command, median of ${RUNS} (runShell: unconfined, bare bwrap, inside a run's sandbox)`,
    ...rows,
    `  goal: the sandbox adds under ${GOAL_SHARE * 100}% of an unconfined \`node -e 0\` to each command: ${r.met ? 'met' : 'NOT met'}`,
  ].join('\n');
}
