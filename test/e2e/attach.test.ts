/**
 * A screen attached to a daemon, in a real terminal: `loops daemon` owns the repository's state
 * folder and runs a loop handed to it; the screen opened afterwards in tmux shows that run live (it
 * was started before the screen existed), and quitting the screen leaves the run to the daemon.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { CLI, cliEnv, runCli, startCli, type RunningCli } from '../cli/cli-process.js';
import { openTerminal, requireTmux, type Terminal } from './tmux.js';

const SLOW_LOOP = '---\nname: slow\nagent: { provider: scripted }\n---\nWait.\n';
const SLOW_SCRIPT =
  'turns:\n  - repeat: true\n    tool_calls:\n      - { name: run, input: { command: sleep 30 } }\n';

let repo: TestRepo;
let scratch: string;
let terminal: Terminal | undefined;
let daemon: ResultPromise | undefined;
let handed: RunningCli | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-attach-'));
  await repo.addLoop('slow', SLOW_LOOP, SLOW_SCRIPT);
});

afterEach(async () => {
  await terminal?.close();
  terminal = undefined;
  await handed?.kill();
  handed = undefined;
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
  await daemon?.catch(() => undefined);
  daemon = undefined;
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const inRepo = (args: string[]) => runCli(args, { scratch, cwd: repo.dir });

it('shows a daemon run started before the screen, and quitting the screen leaves it running', async () => {
  await requireTmux();
  const started = execa('node', [CLI, 'daemon'], {
    reject: false,
    extendEnv: false,
    env: cliEnv({ scratch }),
    cwd: repo.dir,
    stdin: 'ignore',
  });
  daemon = started;
  let log = '';
  started.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  await vi.waitFor(() => expect(log).toMatch(/listening on \S+/), { timeout: 20_000, interval: 50 });

  // A run handed to the daemon by a script, under way before any screen opens.
  handed = startCli(['run', 'slow'], { scratch, cwd: repo.dir });
  await handed.waitForStderr(/\[slow #\d+\] → run \{"command":"sleep 30"\}/);

  terminal = await openTerminal({ cwd: repo.dir, columns: 120, rows: 50 });
  const t = terminal;
  await t.type(
    `env -u NODE_ENV HOME='${scratch}' TMPDIR='${scratch}' CI=false node '${CLI}' -C '${repo.dir}'; echo "loops-exited:$?"`,
  );
  // The row says the loop is running, and its trace has the command it was at when the screen opened.
  await t.waitFor(/│ [› ] [ ⚑] slow\s+running/);
  await t.waitFor(/sleep 30/);

  await t.press('q', { literal: true });
  const after = await t.waitFor(/loops-exited:\d+/);
  expect(after).toMatch(/left 1 run\(s\) running in the daemon \(pid \d+\)/);
  expect(after).toContain('loops-exited:0');

  // The daemon's run went on; a script stops it and the handed `loops run` ends stopped (5).
  const status = JSON.parse((await inRepo(['status', '--json'])).stdout) as {
    runs: Array<{ loop: string; status: string }>;
  };
  expect(status.runs).toMatchObject([{ loop: 'slow', status: 'running' }]);
  expect((await inRepo(['stop', 'slow'])).exitCode).toBe(0);
  expect((await handed.result).exitCode).toBe(5);

  started.kill('SIGTERM');
  expect((await started).exitCode).toBe(0);
  // A daemon, a handed run, a screen and four more CLI processes: on a loaded machine this takes time.
}, 120_000);
