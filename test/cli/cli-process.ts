/**
 * Runs the built CLI (dist/cli.js, built by the global setup) the way a user does: a separate node
 * process with its own environment, never an import of our modules.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { vi } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Used as HOME and TMPDIR, so nothing the CLI makes lands outside the test's own folder. */
  scratch: string;
  cwd?: string;
  /** Added to the minimal environment; API keys appear only when a test puts them here. */
  env?: Record<string, string>;
}

/** PATH and little else: no API keys from the machine running the tests, no CI flag, no user config. */
export function cliEnv(options: CliOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.scratch,
    TMPDIR: options.scratch,
    LANG: 'C.UTF-8',
    ...options.env,
  };
}

// The return type is left to execa: it follows from these exact options (stdin ignored, no rejection).
function spawn(args: string[], options: CliOptions) {
  return execa('node', [CLI, ...args], {
    reject: false,
    extendEnv: false,
    env: cliEnv(options),
    cwd: options.cwd,
    stdin: 'ignore',
  });
}

export async function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const result = await spawn(args, options);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

export interface RunningCli {
  pid: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Polls stderr until it matches, failing with what was written when it never does. */
  waitForStderr(pattern: RegExp): Promise<void>;
  signal(name: NodeJS.Signals): void;
  result: Promise<CliResult>;
  /** Kills it if it still runs (a failed test must not leave it behind) and waits for it to end. */
  kill(): Promise<void>;
}

/** Starts the CLI without waiting for it, so a test can watch its progress and signal it. */
export function startCli(args: string[], options: CliOptions): RunningCli {
  const child = spawn(args, options);
  const chunks: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const stderr = (): string => Buffer.concat(chunks).toString('utf8');
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start node ${CLI}`);
  return {
    pid,
    stderr,
    waitForStderr: (pattern) =>
      vi.waitFor(
        () => {
          if (!pattern.test(stderr())) throw new Error(`stderr never matched ${pattern}:\n${stderr()}`);
        },
        { timeout: 20_000, interval: 50 },
      ),
    signal: (name) => {
      child.kill(name);
    },
    result: child.then((r) => ({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child;
    },
  };
}
