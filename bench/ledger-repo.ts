/**
 * Repositories for the ledger benchmarks: the demo project with one scripted loop (`steady`, three
 * iterations, one `run` call each), and optionally N past ledger entries written the way loops
 * writes them (per-run spend files, their rollups, and the runs in the index).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createDemoRepo } from '../src/demo/setup.js';
import type { RunRecord } from '../src/state/index-db.js';
import { INDEX_VERSION, StateIndex } from '../src/state/index-db.js';
import type { CallRecord } from '../src/state/ledger.js';
import { statePaths } from '../src/state/paths.js';
import { spendLine } from '../src/state/spend-file.js';
import { SpendLedger } from '../src/state/spend-ledger.js';

export const LOOP =
  '---\nname: steady\nagent: { provider: scripted }\n' +
  'verify:\n  - command: test "$(cat progress.txt 2>/dev/null | wc -l)" -ge 3\n' +
  'budget: { iterations: 6 }\n---\nAdd one line to progress.txt per iteration.\n';

export function script(sleep = 0): string {
  const wait = sleep > 0 ? ` && sleep ${sleep}` : '';
  return [
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
    `      - { name: run, input: { command: "echo x >> progress.txt${wait} && echo LINE-ADDED" } }`,
    '',
  ].join('\n');
}

export async function makeBenchRepo(sleep = 0): Promise<string> {
  const dir = await createDemoRepo(await mkdtemp(join(tmpdir(), 'loops-bench-')));
  await mkdir(join(dir, 'loops', 'steady'), { recursive: true });
  await writeFile(join(dir, 'loops', 'steady', 'LOOP.md'), LOOP);
  await writeFile(join(dir, 'loops', 'steady', 'SCRIPT.yaml'), script(sleep));
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: dir });
  await git('add', '-A');
  await git('commit', '-q', '-m', 'add loop steady');
  return dir;
}

/** `entries` past calls in runs of 50, spread over the last 200 days, with their rollups and index records. */
export async function seedHistory(dir: string, entries: number): Promise<void> {
  if (entries === 0) return;
  const paths = statePaths(dir);
  const perRun = 50;
  const runs: RunRecord[] = [];
  const start = Date.now() - 200 * 86_400_000;
  const step = (200 * 86_400_000) / entries;
  const models = ['claude-sonnet-4-5', 'claude-haiku-4-5'];
  const steps = ['work', 'work', 'summary', 'review'] as const;
  for (let r = 0; r * perRun < entries; r++) {
    const loop = r % 2 === 0 ? 'steady' : 'fix-tests';
    const t0 = start + r * perRun * step;
    const id = `${new Date(t0).toISOString().replace(/[-:]/g, '').slice(0, 15).replace('T', '-')}-${(r % 65536).toString(16).padStart(4, '0')}`;
    const lines: Buffer[] = [];
    for (let c = 0; c < perRun && r * perRun + c < entries; c++) {
      const call: CallRecord = {
        loop,
        run: id,
        iteration: 1 + Math.floor(c / 3),
        step: steps[c % steps.length] ?? 'work',
        provider: 'anthropic',
        model: models[c % 2] ?? 'claude-haiku-4-5',
        usage: { input: 4000 + c, output: 600, cacheRead: 12000, cacheWrite: 900 },
        usd: 0.0123 + c * 1e-5,
        time: new Date(t0 + c * step).toISOString(),
      };
      lines.push(spendLine(call));
    }
    await mkdir(paths.spendDir(loop), { recursive: true });
    await writeFile(paths.spendFile(loop, id), Buffer.concat(lines));
    runs.push({
      loop,
      run: id,
      status: r % 3 === 0 ? 'verified' : 'budget',
      trigger: 'manual',
      startedAt: new Date(t0).toISOString(),
      endedAt: new Date(t0 + perRun * step).toISOString(),
      iterations: 17,
      branch: `loops/${loop}/${id}`,
      worktree: join(dir, '.loops', 'worktrees', loop, id),
      reason: 'iterations budget reached',
      usage: { input: 200_000, output: 30_000, cacheRead: 600_000, cacheWrite: 45_000 },
    });
  }
  await mkdir(paths.root, { recursive: true });
  await writeFile(paths.index, JSON.stringify({ version: INDEX_VERSION, runs }, null, 2));
  // The index's summary, as the supervisor that wrote the index leaves it.
  await (await StateIndex.open(paths.index)).refreshSummary();
  // Rollups as a supervisor leaves them: every past run absorbed and closed.
  const ledger = SpendLedger.open(paths, { writable: true });
  for (const loop of ['steady', 'fix-tests']) {
    await ledger.rollup(loop);
    for (const run of runs) if (run.loop === loop) await ledger.closeRun(loop, run.run, { save: false });
    await ledger.save(loop);
  }
}
