/**
 * Runs one shell command for the agent or a grader: output interleaved and capped, the whole
 * process tree killed on timeout or cancel, no stdin (nothing may wait for a person), and an
 * environment without credentials.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { scrubEnv } from './env.js';
import { OutputCollector } from './output-cap.js';
import { GROUPS, superviseGroup } from './process-group.js';
import { noSandbox, type Sandbox, type SandboxProfile } from './sandbox.js';

export interface ShellResult {
  /** null when the command was killed (timeout, cancel) or could not start. */
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  canceled: boolean;
  truncated: boolean;
  /** Set when the command could not be started at all (bad cwd, no shell). */
  spawnError?: string;
}

export interface ShellOptions {
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Characters of output kept (head and tail). */
  outputCap: number;
  /** The complete environment; defaults to the user's without credentials. */
  env?: Record<string, string>;
  /** Where the command runs: the run's sandbox; none when not given. */
  sandbox?: Sandbox;
  /** Who runs it, which decides what the sandbox lets it reach; default `agent`. */
  profile?: SandboxProfile;
}

/** The shell every command line goes through: POSIX sh. */
const SHELL = '/bin/sh';

/** Between SIGTERM and SIGKILL: long enough for a test runner to tidy up, short enough to feel prompt. */
const KILL_GRACE_MS = 2_000;
/** After the shell exits, how long output from processes that escaped the group may keep the pipes open. */
const DRAIN_MS = 1_000;

function canceledResult(): ShellResult {
  return { exitCode: null, output: '', timedOut: false, canceled: true, truncated: false };
}

export async function runShell(command: string, opts: ShellOptions): Promise<ShellResult> {
  if (opts.signal?.aborted) return canceledResult();

  const prepared = (opts.sandbox ?? noSandbox).prepareCommand({
    file: SHELL,
    args: ['-c', command],
    cwd: opts.cwd,
    env: opts.env ?? scrubEnv(process.env),
    profile: opts.profile ?? 'agent',
  });
  // node:child_process directly, not execa: this runs for every tool call and every grader, and with
  // many loops at once the single Node thread's time per spawn is what limits them (execa's stream
  // machinery costs about as much again as the spawn itself).
  const options: SpawnOptions = {
    cwd: prepared.cwd,
    env: prepared.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a timeout kills the test runner's workers too, not just the shell.
    detached: GROUPS,
    windowsHide: true,
  };
  const collector = new OutputCollector(opts.outputCap);
  let subprocess: ChildProcess;
  try {
    // Windows has no /bin/sh (nor a sandbox here): its own shell runs the line.
    subprocess =
      process.platform === 'win32'
        ? spawn(command, { ...options, shell: true })
        : spawn(prepared.file, prepared.args, options);
  } catch (err) {
    return { ...notStarted(err, opts.cwd), output: '' };
  }
  // Both streams into one collector as they arrive: the output reads as a terminal would show it.
  for (const stream of [subprocess.stdout, subprocess.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => collector.push(chunk));
  }
  const settled = new Promise<{ code: number | null; error?: unknown }>((resolve) => {
    subprocess.once('error', (error) => resolve({ code: null, error }));
    subprocess.once('close', (code) => resolve({ code }));
  });

  const group = superviseGroup(subprocess, { graceMs: KILL_GRACE_MS, drainMs: DRAIN_MS });
  let timedOut = false;
  let canceled = false;
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    group.stop();
  }, opts.timeoutMs);
  const onAbort = (): void => {
    canceled = true;
    group.stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const result = await settled;
    const killed = timedOut || canceled;
    const shellResult: ShellResult = {
      exitCode: killed ? null : result.code,
      output: collector.text(),
      timedOut,
      canceled: canceled && !timedOut,
      truncated: collector.truncated,
    };
    if (subprocess.pid === undefined && !killed)
      return { ...shellResult, ...notStarted(result.error, opts.cwd) };
    return shellResult;
  } finally {
    clearTimeout(timeoutTimer);
    group.dispose();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function notStarted(err: unknown, cwd: string): Omit<ShellResult, 'output'> {
  return {
    exitCode: null,
    timedOut: false,
    canceled: false,
    truncated: false,
    spawnError: spawnMessage(
      err instanceof Error ? err.message : err === undefined ? 'unknown error' : JSON.stringify(err),
      cwd,
    ),
  };
}

function spawnMessage(message: string, cwd: string): string {
  // Node reports a missing working directory as the shell's ENOENT.
  if (!existsSync(cwd)) return `could not start the command: the directory ${cwd} does not exist`;
  return `could not start the command: ${message.split('\n').slice(-1)[0] ?? message}`;
}
