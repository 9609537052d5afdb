/**
 * Runs one shell command for the agent or a grader: output interleaved and capped, the whole
 * process tree killed on timeout or cancel, no stdin (nothing may wait for a person), and an
 * environment without credentials.
 */
import { execa } from 'execa';
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

/** The shell every command line goes through: POSIX sh, as execa's `shell: true` would pick. */
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
  const options = {
    cwd: prepared.cwd,
    env: prepared.env,
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    // Its own process group, so a timeout kills the test runner's workers too, not just the shell.
    detached: GROUPS,
  } as const;
  // Windows has no /bin/sh (nor a sandbox here): its own shell runs the line.
  const subprocess =
    process.platform === 'win32'
      ? execa(command, { ...options, shell: true })
      : execa(prepared.file, prepared.args, options);

  const collector = new OutputCollector(opts.outputCap);
  subprocess.all?.setEncoding('utf8');
  subprocess.all?.on('data', (chunk: string) => collector.push(chunk));

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
    const result = await subprocess;
    const killed = timedOut || canceled;
    const shellResult: ShellResult = {
      exitCode: killed || result.exitCode === undefined ? null : result.exitCode,
      output: collector.text(),
      timedOut,
      canceled: canceled && !timedOut,
      truncated: collector.truncated,
    };
    if (subprocess.pid === undefined && !killed)
      shellResult.spawnError = spawnMessage(result.message ?? 'unknown error', opts.cwd);
    return shellResult;
  } finally {
    clearTimeout(timeoutTimer);
    group.dispose();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function spawnMessage(message: string, cwd: string): string {
  if (/"cwd" option is invalid/.test(message))
    return `could not start the command: the directory ${cwd} does not exist`;
  return `could not start the command: ${message.split('\n').slice(-1)[0] ?? message}`;
}
