/**
 * One git process through node:child_process directly. git is loops' most frequent child (several
 * per iteration per loop), and with many loops at once the single Node thread spends its time
 * starting them: execa's per-call machinery (stream conversions, transforms, IPC and cleanup hooks)
 * costs about twice the parent CPU of a bare spawn per call, and loading it is a hundred modules on
 * every command's start-up. git needs none of that: arguments (never a shell), an environment, an
 * optional stdin, and its output collected.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface SpawnedGit {
  /** undefined when git did not run or was killed by a signal; `failure` then says why. */
  exitCode: number | undefined;
  stdout: Buffer;
  stderr: string;
  failure?: string;
}

export interface SpawnGitOptions {
  /** What to start: git (found on PATH) unless told; `args` are its arguments. */
  file?: string;
  cwd: string;
  env: Record<string, string>;
  input?: string | Uint8Array | undefined;
  /** Output past this many bytes ends the process (a runaway command must not exhaust memory). */
  maxBuffer: number;
}

export function spawnCollect(args: readonly string[], options: SpawnGitOptions): Promise<SpawnedGit> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: SpawnedGit): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let overflow = false;
    let child;
    try {
      child = spawn(options.file ?? 'git', args, {
        cwd: options.cwd,
        env: options.env,
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (e) {
      done({ exitCode: undefined, stdout: Buffer.alloc(0), stderr: '', failure: describe(e, options.cwd) });
      return;
    }
    const collect =
      (into: Buffer[]) =>
      (chunk: Buffer): void => {
        size += chunk.length;
        if (size > options.maxBuffer) {
          overflow = true;
          child.kill('SIGKILL');
          return;
        }
        into.push(chunk);
      };
    child.stdout?.on('data', collect(out));
    child.stderr?.on('data', collect(err));
    child.on('error', (e) => {
      done({
        exitCode: undefined,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
        failure: describe(e, options.cwd),
      });
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err).toString('utf8');
      if (overflow) {
        done({ exitCode: undefined, stdout, stderr, failure: `output exceeded ${options.maxBuffer} bytes` });
      } else if (code === null) {
        done({ exitCode: undefined, stdout, stderr, failure: `killed by ${signal ?? 'a signal'}` });
      } else {
        done({ exitCode: code, stdout, stderr });
      }
    });
    if (options.input !== undefined && child.stdin) {
      // git may exit before reading all of its input (a bad argument): that is its answer, not ours.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
  });
}

/** Node reports a missing working directory as `spawn git ENOENT` too; tell the two apart. */
function describe(e: unknown, cwd: string): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return existsSync(cwd) ? 'ENOENT: git not found' : `cwd does not exist: ${cwd}`;
  return e instanceof Error ? e.message : String(e);
}
