/**
 * The per-iteration cost of one scripted loop through the real Supervisor, in-process: a 12-iteration
 * loop minus a 2-iteration one (medians of three, interleaved), in wall time and in this process's
 * CPU time; with LOOPS_PROFILE=file.cpuprofile, a CPU profile of the last 12-iteration loop only.
 * `node --import tsx bench/iteration-profile.ts`
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDemoRepo } from '../src/demo/setup.js';
import { Supervisor } from '../src/core/supervisor.js';
import { loopMd } from './concurrency.js';
import { script } from './ledger-repo.js';

const profileTo = process.env['LOOPS_PROFILE'];
const session = new Session();
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );

const dir = await createDemoRepo(await mkdtemp(join(tmpdir(), 'loops-bench-prof-')));
for (const [name, lines] of [
  ['short', 2],
  ['long', 12],
] as const) {
  await mkdir(join(dir, 'loops', name), { recursive: true });
  await writeFile(join(dir, 'loops', name, 'LOOP.md'), loopMd(name, lines));
  await writeFile(join(dir, 'loops', name, 'SCRIPT.yaml'), script());
}
execFileSync('git', ['add', '-A'], { cwd: dir });
execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'loops'], { cwd: dir });

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const supervisor = await Supervisor.open(dir, { maxConcurrent: 1 });
const wall: Record<string, number[]> = { short: [], long: [] };
const cpu: Record<string, number[]> = { short: [], long: [] };
try {
  const order = ['short', 'long', 'short', 'long', 'short', 'long', 'short'];
  for (const [i, name] of order.entries()) {
    const profiling = profileTo !== undefined && i === order.length - 2;
    if (profiling) {
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 100 });
      await post('Profiler.start');
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await supervisor.start(name, 'bench');
    const c = process.cpuUsage(c0);
    if (r.outcome !== 'verified') throw new Error(`${name} ended ${r.outcome}: ${r.reason}`);
    if (i > 0) wall[name]?.push(performance.now() - t0);
    if (i > 0) cpu[name]?.push((c.user + c.system) / 1000);
    if (profiling) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(profileTo, JSON.stringify(profile));
    }
  }
} finally {
  await supervisor.shutdown('done');
  await rm(dirname(dir), { recursive: true, force: true });
}
const per = (m: Record<string, number[]>): string =>
  ((median(m['long'] ?? []) - median(m['short'] ?? [])) / 10).toFixed(1);
console.log(
  `per iteration: wall ${per(wall)} ms, this process's CPU ${per(cpu)} ms ` +
    `(12-iteration loop ${median(wall['long'] ?? []).toFixed(0)} ms, 2-iteration ${median(wall['short'] ?? []).toFixed(0)} ms)`,
);
