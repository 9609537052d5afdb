/**
 * Runs one shell command for the agent or a grader: output interleaved and capped, the whole
 * process tree killed on timeout or cancel, no stdin (nothing may wait for a person), and an
 * environment without credentials.
 */
import { execa } from 'execa';
import { scrubEnv } from './env.js';
import { OutputCollector } from './output-cap.js';

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
}

/** Between SIGTERM and SIGKILL: long enough for a test runner to tidy up, short enough to feel prompt. */
const KILL_GRACE_MS = 2_000;
/** After the shell exits, how long output from processes that escaped the group may keep the pipes open. */
const DRAIN_MS = 1_000;

const groupKill = process.platform !== 'win32';

/** Process groups still running, killed if loops itself exits so no command outlives it. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

function canceledResult(): ShellResult {
  return { exitCode: null, output: '', timedOut: false, canceled: true, truncated: false };
}

export async function runShell(command: string, opts: ShellOptions): Promise<ShellResult> {
  if (opts.signal?.aborted) return canceledResult();
  installExitHook();

  const subprocess = execa(command, {
    shell: true,
    cwd: opts.cwd,
    env: opts.env ?? scrubEnv(process.env),
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    // Its own process group, so a timeout kills the test runner's workers too, not just the shell.
    detached: groupKill,
  });

  const collector = new OutputCollector(opts.outputCap);
  subprocess.all?.setEncoding('utf8');
  subprocess.all?.on('data', (chunk: string) => collector.push(chunk));

  const pid = subprocess.pid;
  if (pid !== undefined && groupKill) liveGroups.add(pid);

  const killTree = (signal: NodeJS.Signals): void => {
    if (pid !== undefined && groupKill) killGroup(pid, signal);
    else subprocess.kill(signal);
  };

  let timedOut = false;
  let canceled = false;
  let graceTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    if (graceTimer) return;
    killTree('SIGTERM');
    graceTimer = setTimeout(() => killTree('SIGKILL'), KILL_GRACE_MS);
  };
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    stop();
  }, opts.timeoutMs);
  const onAbort = (): void => {
    canceled = true;
    stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  subprocess.once('exit', () => {
    // Background children would otherwise keep running and hold the output pipes open.
    killTree('SIGKILL');
    drainTimer = setTimeout(() => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    }, DRAIN_MS);
  });

  try {
    const result = await subprocess;
    const killed = timedOut || canceled;
    const shellResult: ShellResult = {
      exitCode: killed || result.exitCode === undefined ? null : result.exitCode,
      output: collector.text(),
      timedOut,
      canceled: canceled && !timedOut,
      truncated: collector.truncated,
    };
    if (pid === undefined && !killed)
      shellResult.spawnError = spawnMessage(result.message ?? 'unknown error', opts.cwd);
    return shellResult;
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(graceTimer);
    clearTimeout(drainTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (pid !== undefined) liveGroups.delete(pid);
  }
}

function spawnMessage(message: string, cwd: string): string {
  if (/"cwd" option is invalid/.test(message))
    return `could not start the command: the directory ${cwd} does not exist`;
  return `could not start the command: ${message.split('\n').slice(-1)[0] ?? message}`;
}
