/**
 * `loops daemon` and the commands that talk to it, as separate processes on a real socket: a run
 * handed to the daemon with its exit code, control from scripts, reload on edit, SIGTERM, and a
 * killed daemon's folder taken over at once. Each test starts several processes and full runs: on a
 * loaded machine that takes longer than the default timeout, hence their own.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { CLI, cliEnv, runCli, startCli, type RunningCli } from './cli-process.js';
import { HOLDER, HOLDER_SCRIPT } from '../support/holder-loop.js';

const SLOW_LOOP = '---\nname: slow\nagent: { provider: scripted }\n---\nWait.\n';
const SLOW_SCRIPT =
  'turns:\n  - repeat: true\n    tool_calls:\n      - { name: run, input: { command: sleep 30 } }\n';

interface Daemon {
  pid: number;
  stdout(): string;
  waitFor(pattern: RegExp): Promise<void>;
  result: Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  kill(): Promise<void>;
}

let repo: TestRepo;
let scratch: string;
const daemons: Daemon[] = [];
const clis: RunningCli[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-daemon-'));
  await repo.addLoop('slow', SLOW_LOOP, SLOW_SCRIPT);
});

afterEach(async () => {
  await Promise.all(clis.splice(0).map((c) => c.kill()));
  await Promise.all(daemons.splice(0).map((d) => d.kill()));
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

function startDaemon(): Daemon {
  const child = execa('node', [CLI, 'daemon'], {
    reject: false,
    extendEnv: false,
    env: cliEnv({ scratch }),
    cwd: repo.dir,
    stdin: 'ignore',
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const stdout = (): string => Buffer.concat(chunks).toString('utf8');
  if (child.pid === undefined) throw new Error('no daemon');
  const daemon: Daemon = {
    pid: child.pid,
    stdout,
    waitFor: (pattern) =>
      vi.waitFor(
        () => {
          if (!pattern.test(stdout())) throw new Error(`the daemon never logged ${pattern}:\n${stdout()}`);
        },
        { timeout: 20_000, interval: 50 },
      ),
    result: child.then((r) => ({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child;
    },
  };
  daemons.push(daemon);
  return daemon;
}

function cli(args: string[]): RunningCli {
  const running = startCli(args, { scratch, cwd: repo.dir });
  clis.push(running);
  return running;
}

const inRepo = (args: string[]) => runCli(args, { scratch, cwd: repo.dir });

interface StatusJson {
  owner: { pid: number; kind: string } | null;
  runs: Array<{ loop: string; run: string; status: string }>;
  approvals: Array<{ approvalId: string; loop: string }>;
}

async function status(): Promise<StatusJson> {
  const r = await inRepo(['status', '--json']);
  return JSON.parse(r.stdout) as StatusJson;
}

describe('with nothing running', () => {
  it('control commands say so and fail', async () => {
    const stop = await inRepo(['stop', 'slow']);
    expect(stop.exitCode).toBe(1);
    expect(stop.stderr).toContain('nothing is running');
    const st = await inRepo(['status', '--json']);
    expect(st.exitCode).toBe(1);
    expect(JSON.parse(st.stdout)).toMatchObject({ owner: null });
    expect((await inRepo(['approve'])).exitCode).toBe(2);
  });
});

describe('loops daemon', () => {
  it('takes handed runs, answers scripts, reloads an edited LOOP.md and stops cleanly on SIGTERM', async () => {
    const daemon = startDaemon();
    await daemon.waitFor(/listening on \S+loops\.sock/);
    expect(existsSync(join(repo.dir, 'state', 'loops.sock'))).toBe(true);

    // A run handed to the daemon ends with its own exit code (fix-tests verifies).
    const verified = await inRepo(['run', 'fix-tests']);
    expect(verified.stderr).toContain(`handing the run to loops (pid ${daemon.pid}`);
    expect(verified.stderr).toMatch(/\[fix-tests #0\] ▶ run \S+ started/);
    expect(verified.stdout.split('\n')[0]).toMatch(/^fix-tests: verified/);
    expect(verified.exitCode).toBe(0);
    await daemon.waitFor(/fix-tests: run \S+ ended verified/);

    // One stopped from a script: the handed run exits 5.
    const slow = cli(['run', 'slow']);
    await slow.waitForStderr(/\[slow #1\] → run \{"command":"sleep 30"\}/);
    const live = await status();
    expect(live.owner).toMatchObject({ pid: daemon.pid, kind: 'daemon' });
    expect(live.runs).toMatchObject([{ loop: 'slow', status: 'running' }]);
    const listed = await inRepo(['list']);
    expect(listed.stdout).toMatch(
      new RegExp(`slow\\s+scripted/scripted\\s+manual\\s+running \\(${live.runs[0]!.run}`),
    );
    const stop = await inRepo(['stop', 'slow']);
    expect(stop.exitCode).toBe(0);
    expect(stop.stdout).toContain('slow: stop done');
    const stopped = await slow.result;
    expect(stopped.exitCode).toBe(5);
    expect(stopped.stdout.split('\n')[0]).toBe('slow: stopped: stopped by a person');
    expect((await inRepo(['stop', 'slow'])).exitCode).toBe(1);

    // An edit is picked up and said.
    writeFileSync(join(repo.dir, 'loops', 'slow', 'LOOP.md'), SLOW_LOOP.replace('Wait.', 'Wait longer.'));
    await daemon.waitFor(/reloaded slow/);

    // SIGTERM with a run in flight: it ends stopped, state is saved, socket and lock are gone.
    const last = cli(['run', 'slow']);
    await last.waitForStderr(/\[slow #1\] → run/);
    const run = (await status()).runs[0]!.run;
    process.kill(daemon.pid, 'SIGTERM');
    const ended = await daemon.result;
    expect(ended.exitCode).toBe(0);
    expect(ended.stdout).toMatch(
      new RegExp(`slow: run ${run} ended stopped: the daemon was stopped \\(SIGTERM\\)`),
    );
    expect((await last.result).exitCode).toBe(5);
    const index = JSON.parse(readFileSync(join(repo.dir, 'state', 'loops.json'), 'utf8')) as {
      runs: Array<{ run: string; status: string }>;
    };
    expect(index.runs.find((r) => r.run === run)).toMatchObject({ status: 'stopped' });
    for (const gone of ['.lock', 'loops.sock', 'owner-socket.json'])
      expect(existsSync(join(repo.dir, 'state', gone))).toBe(false);
    expect((await inRepo(['status'])).stderr).toContain('nothing is running');
  }, 120_000);

  it('asks approvals of scripts, and a killed daemon is taken over at once', async () => {
    await repo.addLoop('holder', HOLDER, HOLDER_SCRIPT);
    const first = startDaemon();
    await first.waitFor(/listening on/);
    const handed = cli(['run', 'holder']);
    await first.waitFor(/approval (\S+) asked for run/);
    const approval = (await status()).approvals[0]!;
    expect(approval.loop).toBe('holder');
    const st = await inRepo(['status', 'holder']);
    expect(st.stdout).toContain(approval.approvalId);
    const deny = await inRepo(['deny', approval.approvalId, '--reason', 'not now']);
    expect(deny.stdout).toContain('holder: deny done');
    await first.waitFor(new RegExp(`approval ${approval.approvalId} denied \\(person\\): .*not now`));
    expect((await inRepo(['approve', approval.approvalId])).stderr).toContain(
      `no approval ${approval.approvalId} is waiting`,
    );
    await handed.result;

    // A run in flight when the daemon is killed: the next daemon takes the folder over at once
    // (a lock held by a live pid would be refused, not waited for) and records the run interrupted.
    const slow = cli(['run', 'slow']);
    await slow.waitForStderr(/\[slow #1\] → run/);
    const run = (await status()).runs[0]!.run;
    process.kill(first.pid, 'SIGKILL');
    expect((await slow.result).exitCode).toBe(1);
    expect(slow.stderr()).toContain(`run ${run} of slow did not record its end`);
    expect(existsSync(join(repo.dir, 'state', 'loops.sock'))).toBe(true);

    const second = startDaemon();
    await second.waitFor(/listening on/);
    expect(second.stdout()).toContain(
      `slow: run ${run} was interrupted by the last loops; recorded as failed`,
    );
    expect((await status()).owner).toMatchObject({ pid: second.pid });
    process.kill(second.pid, 'SIGTERM');
    expect((await second.result).exitCode).toBe(0);
  }, 120_000);
});
