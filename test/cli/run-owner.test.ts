/**
 * A headless `loops run` that owns the state folder serves it while its run goes on: `loops status`,
 * `loops list` and control commands attach to it instead of waiting and being refused, and a second
 * `loops run` is handed to it (it ends stopped, exit 5, when the owning run ends first).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli, startCli, type RunningCli } from './cli-process.js';

const SLOW_LOOP = '---\nname: slow\nagent: { provider: scripted }\n---\nWait.\n';
const SLOW_SCRIPT =
  'turns:\n  - repeat: true\n    tool_calls:\n      - { name: run, input: { command: sleep 30 } }\n';

let repo: TestRepo;
let scratch: string;
const clis: RunningCli[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-run-owner-'));
  await repo.addLoop('slow', SLOW_LOOP, SLOW_SCRIPT);
  await repo.addLoop('slow2', SLOW_LOOP.replace('name: slow', 'name: slow2'), SLOW_SCRIPT);
});

afterEach(async () => {
  await Promise.all(clis.splice(0).map((c) => c.kill()));
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

function cli(args: string[]): RunningCli {
  const running = startCli(args, { scratch, cwd: repo.dir });
  clis.push(running);
  return running;
}

const inRepo = (args: string[]) => runCli(args, { scratch, cwd: repo.dir });

it('status, list, stop and a second run attach to a headless loops run that owns the folder', async () => {
  const owner = cli(['run', 'slow']);
  await owner.waitForStderr(/\[slow #1\] → run \{"command":"sleep 30"\}/);
  expect(existsSync(join(repo.dir, 'state', 'loops.sock'))).toBe(true);

  const st = await inRepo(['status', '--json']);
  expect(st.exitCode).toBe(0);
  const live = JSON.parse(st.stdout) as {
    owner: { pid: number; kind: string; attended: boolean };
    runs: Array<{ loop: string; run: string; status: string }>;
  };
  expect(live.owner).toEqual({ pid: owner.pid, kind: 'run', attended: false });
  expect(live.runs).toMatchObject([{ loop: 'slow', status: 'running' }]);
  const listed = await inRepo(['list']);
  expect(listed.stdout).toMatch(
    new RegExp(`slow\\s+scripted/scripted\\s+manual\\s+running \\(${live.runs[0]!.run}`),
  );

  // A second loops run is handed to it, and ends stopped when the owning run ends first.
  const handed = cli(['run', 'slow2']);
  await handed.waitForStderr(/handing the run to loops \(pid \d+, the loops run that owns state\/\)/);
  await handed.waitForStderr(/\[slow2 #1\] → run/);

  const stop = await inRepo(['stop', 'slow']);
  expect(stop.exitCode).toBe(0);
  const ended = await owner.result;
  expect(ended.exitCode).toBe(5);
  expect(ended.stdout.split('\n')[0]).toBe('slow: stopped: stopped by a person');
  const second = await handed.result;
  expect(second.exitCode).toBe(5);
  // The owner has gone: its socket with it, and status says nothing runs.
  expect(existsSync(join(repo.dir, 'state', 'loops.sock'))).toBe(false);
  expect((await inRepo(['status', '--json'])).exitCode).toBe(1);
}, 120_000);
