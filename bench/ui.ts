/**
 * The UI benchmark: 16 scripted loops at full speed through the real engine (Supervisor, worktrees,
 * graders) and the real store into the real Ink app, writing to a counting null stream; against the
 * same 16 runs with the screen detached (engine and store only). Reports store commits per second,
 * frame render time (p50/p95, Ink's own onRender metric), bytes per frame, this process's CPU
 * against the detached run, peak memory, and frames written while idle afterwards.
 *
 * LOOPS_BENCH_IDLE_MS sets the idle window (default 3000; the issue's figure is 10 s);
 * LOOPS_BENCH_UI_FULL=1 adds the same run with Ink's full redraw, to compare bytes per frame.
 * The screen is set up as runTui sets it up: React's production build, Ink's rows kept between
 * frames (src/ui/row-cache.ts), and the line-diffing stream (src/ui/frame-diff.ts) to the terminal.
 */
// First, as in run-tui: React picks its build when it is first loaded.
import { restoreNodeEnv } from '../src/ui/react-mode.js';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { render } from 'ink';
import { createElement } from 'react';
import { Supervisor } from '../src/core/supervisor.js';
import { createDemoRepo } from '../src/demo/setup.js';
import { App } from '../src/ui/App.js';
import { paneSlices } from '../src/ui/panes/registry.js';
import { createStore } from '../src/ui/store.js';
import { diffStdout } from '../src/ui/diff-stdout.js';
import { installRowCache } from '../src/ui/row-cache.js';

restoreNodeEnv();

export const LOOPS = 16;
export const GOALS = { commitsPerSecond: 10, p95FrameMs: 16, cpuRatio: 1.3, idleFrames: 0 };

/** A terminal that keeps nothing: it counts writes and bytes. */
class NullTerminal {
  columns = 120;
  rows = 40;
  isTTY = true;
  /** Frames: writes other than mode switches (synchronized output begin/end, the cursor). */
  writes = 0;
  bytes = 0;
  write = (chunk: string | Uint8Array): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    this.bytes += Buffer.byteLength(text);
    // eslint-disable-next-line no-control-regex -- mode switches are not frames
    if (!/^(?:\x1b\[\?[0-9;]*[hl])*$/.test(text)) this.writes += 1;
    return true;
  };
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
  once(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
  emit(): boolean {
    return false;
  }
  listenerCount(): number {
    return 0;
  }
}

async function makeRepo(parent: string): Promise<string> {
  const dir = await createDemoRepo(parent);
  // Sixteen copies of fix-tests (two iterations, real node --test graders) instead of the demo's loops.
  const loops = join(dir, 'loops');
  const template = join(dir, 'template');
  await cp(join(loops, 'fix-tests'), template, { recursive: true });
  const loopMd = await readFile(join(template, 'LOOP.md'), 'utf8');
  const skill = await readFile(join(template, 'SKILL.md'), 'utf8');
  for (const name of await readdir(loops)) await rm(join(loops, name), { recursive: true });
  for (let i = 1; i <= LOOPS; i++) {
    const name = `bench-${String(i).padStart(2, '0')}`;
    await cp(template, join(loops, name), { recursive: true });
    await writeFile(join(loops, name, 'LOOP.md'), loopMd.replace('name: fix-tests', `name: ${name}`));
    // A skill's name must equal its folder's.
    await writeFile(join(loops, name, 'SKILL.md'), skill.replace('name: fix-tests', `name: ${name}`));
  }
  await rm(template, { recursive: true });
  await mkdir(join(dir, 'state'), { recursive: true });
  return dir;
}

interface Phase {
  seconds: number;
  cpuMs: number;
  peakRssMb: number;
  commits: number;
  outcomes: string[];
}

async function runAll(repo: string, attach: (supervisor: Supervisor) => () => void): Promise<Phase> {
  // Unconfined where bubblewrap is missing (the sandbox's own cost is bench/sandbox.ts's, and in children).
  const supervisor = await Supervisor.open(repo, {
    maxConcurrent: LOOPS,
    sandbox: { fallback: 'unconfined' },
  });
  const detach = attach(supervisor);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const results = await Promise.all(supervisor.loops().map((loop) => supervisor.start(loop.name, 'bench')));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  detach();
  await supervisor.shutdown('bench done');
  return {
    seconds,
    cpuMs: (used.user + used.system) / 1000,
    peakRssMb: peak / 1024 / 1024,
    commits: 0,
    outcomes: results.map((r) => r.outcome),
  };
}

export interface UiBenchResult {
  detached: Phase;
  attached: Phase & {
    frames: number;
    bytesPerFrame: number;
    p50: number;
    p95: number;
    commitsPerSecond: number;
  };
  /** With LOOPS_BENCH_UI_FULL=1: the same run with Ink's full redraw, for bytes per frame. */
  fullRedraw?: { bytesPerFrame: number; frames: number };
  idleFrames: number;
  idleMs: number;
  cpuRatio: number;
  met: boolean;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One attached run: the real store and App, Ink writing to a NullTerminal. */
async function attachedRun(repo: string, incremental: boolean, idleMs: number) {
  const terminal = new NullTerminal();
  const renderTimes: number[] = [];
  let commits = 0;
  let unmount: (() => void) | undefined;
  const phase = await runAll(repo, (supervisor) => {
    const store = createStore(supervisor, { slices: paneSlices() });
    store.subscribe(() => {
      commits += 1;
    });
    const target = terminal as unknown as NodeJS.WriteStream;
    const instance = render(createElement(App, { store, port: supervisor }), {
      stdout: incremental ? diffStdout(target).stream : target,
      exitOnCtrlC: false,
      patchConsole: false,
      incrementalRendering: false,
      onRender: (metrics) => renderTimes.push(metrics.renderTime),
    });
    unmount = () => {
      instance.unmount();
      store.dispose();
    };
    return () => undefined;
  });
  // The last events of the runs are committed within a flush or two; from then on nothing changes.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const frames = terminal.writes;
  const bytes = terminal.bytes;
  // Idle: every run has ended; nothing should be drawn.
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const idleFrames = terminal.writes - frames;
  unmount?.();
  return { phase, frames, bytes, renderTimes, commits, idleFrames };
}

export async function runUiBench(): Promise<UiBenchResult> {
  const idleMs = Number(process.env.LOOPS_BENCH_IDLE_MS ?? 3000);
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const parent = await mkdtemp(join(tmpdir(), 'loops-bench-ui-'));
  // As runTui does before its first frame.
  await installRowCache();
  try {
    const detached = await runAll(await makeRepo(parent), (supervisor) => {
      const store = createStore(supervisor, { slices: paneSlices() });
      return () => store.dispose();
    });
    const attached = await attachedRun(await makeRepo(parent), true, idleMs);
    // The full-redraw comparison doubles the bench's time: on request only.
    const full =
      process.env.LOOPS_BENCH_UI_FULL === '1'
        ? await attachedRun(await makeRepo(parent), false, 0)
        : undefined;
    const cpuRatio = attached.phase.cpuMs / detached.cpuMs;
    const p95 = percentile(attached.renderTimes, 95);
    const commitsPerSecond = attached.commits / attached.phase.seconds;
    const result: UiBenchResult = {
      detached,
      attached: {
        ...attached.phase,
        commits: attached.commits,
        frames: attached.frames,
        bytesPerFrame: attached.bytes / Math.max(1, attached.frames),
        p50: percentile(attached.renderTimes, 50),
        p95,
        commitsPerSecond,
      },
      ...(full === undefined
        ? {}
        : { fullRedraw: { bytesPerFrame: full.bytes / Math.max(1, full.frames), frames: full.frames } }),
      idleFrames: attached.idleFrames,
      idleMs,
      cpuRatio,
      met:
        commitsPerSecond <= GOALS.commitsPerSecond &&
        p95 <= GOALS.p95FrameMs &&
        cpuRatio <= GOALS.cpuRatio &&
        attached.idleFrames === GOALS.idleFrames,
    };
    return result;
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

export function formatUiBench(r: UiBenchResult): string {
  const mark = (ok: boolean): string => (ok ? 'ok' : 'MISSED');
  const a = r.attached;
  return [
    `ui: ${LOOPS} scripted loops at full speed, real engine + store + Ink app to a counting null stream`,
    `  outcomes          ${[...new Set(a.outcomes)].join(', ')} (detached: ${[...new Set(r.detached.outcomes)].join(', ')})`,
    `  wall time         ${a.seconds.toFixed(1)} s attached, ${r.detached.seconds.toFixed(1)} s detached`,
    `  store commits/s   ${a.commitsPerSecond.toFixed(1)} (${a.commits} commits)   goal ≤ ${GOALS.commitsPerSecond}  ${mark(a.commitsPerSecond <= GOALS.commitsPerSecond)}`,
    `  frame render      p50 ${a.p50.toFixed(2)} ms, p95 ${a.p95.toFixed(2)} ms   goal p95 ≤ ${GOALS.p95FrameMs} ms  ${mark(a.p95 <= GOALS.p95FrameMs)}`,
    `  bytes per frame   ${Math.round(a.bytesPerFrame)} changed lines only (${a.frames} frames)${r.fullRedraw ? `; ${Math.round(r.fullRedraw.bytesPerFrame)} full redraw (${r.fullRedraw.frames} frames)` : ' (LOOPS_BENCH_UI_FULL=1 compares the full redraw)'}`,
    `  CPU               ${a.cpuMs.toFixed(0)} ms attached / ${r.detached.cpuMs.toFixed(0)} ms detached = ${r.cpuRatio.toFixed(2)}×   goal ≤ ${GOALS.cpuRatio}×  ${mark(r.cpuRatio <= GOALS.cpuRatio)}`,
    `  peak memory       ${a.peakRssMb.toFixed(0)} MB attached, ${r.detached.peakRssMb.toFixed(0)} MB detached`,
    `  idle frames       ${r.idleFrames} in ${(r.idleMs / 1000).toFixed(1)} s   goal ${GOALS.idleFrames}  ${mark(r.idleFrames === GOALS.idleFrames)}`,
  ].join('\n');
}
