/**
 * Running a CLI agent (claude, codex, any command) for one model call: in the run's worktree, with the
 * environment its provider chose (cli-env.ts), stdout read line by line as it arrives. It runs in a
 * process group of its own, so the tools it starts are killed with it: when the call is aborted (a
 * stop, the run's deadline, a cap reached in flight), when it exits, and when loops exits. Failures
 * become ProviderErrors that say what to do.
 *
 * What it prints is read in bounded memory, whatever it prints: a line longer than MAX_LINE_CHARS is
 * cut (and counted in `cutLines`), and only the end of stderr is kept.
 */
import { execa } from 'execa';
import { GROUPS, superviseGroup } from '../process/process-group.js';
import type { Redactor } from './cli-env.js';
import type { Sandbox } from '../process/sandbox.js';
import { classifyCliMessage, type CliFailureLabel } from './cli-failure.js';
import { ProviderError } from './provider.js';

export interface CliSpec {
  /** The provider name, for errors. */
  provider: string;
  file: string;
  args: string[];
  /** Where the CLI runs; required, so an agent never edits the repository's own checkout. */
  cwd: string | undefined;
  /** The child's whole environment (PATH included); not merged with process.env. */
  env: NodeJS.ProcessEnv;
  /** Cuts the user's secrets out of stderr, which error messages quote. */
  redactor: Redactor;
  /** Written to stdin; without it stdin is empty, so a CLI that reads it does not wait. */
  input?: string;
  signal?: AbortSignal;
  /** The second half of "`file` was not found on PATH: …". */
  missingHint: string;
  /**
   * Each stdout line, without its newline, as it arrives; an over-long one is cut to MAX_LINE_CHARS.
   * What it returns says where the CLI's own stream stands (LineVerdict): a CLI that has said its last
   * word but does not exit is stopped instead of waited for.
   */
  onLine: (line: string) => LineVerdict;
  /** How long a CLI may go on after a 'failing' line before it is stopped; default FAILING_GRACE_MS. */
  failingGraceMs?: number;
  /** Runs the CLI confined (the command provider); claude and codex bring their own sandbox. */
  sandbox?: Sandbox;
}

/**
 * What one line of a CLI's stream means for the process:
 * - 'done': the call's outcome is known (a result, a failed turn); the CLI gets END_GRACE_MS to exit
 *   by itself, then its group is stopped;
 * - 'failing': an error that is usually its last word; unless a 'working' line follows within
 *   `failingGraceMs`, the group is stopped;
 * - 'working': the CLI is busy (a retry, a tool call), which cancels a 'failing' stop;
 * - nothing: no change.
 */
export type LineVerdict = 'done' | 'failing' | 'working' | undefined | void;

/** bwrap's own words when the program it was to run does not exist. */
const SANDBOXED_MISSING = /^bwrap: execvp [^\n]*: No such file or directory/m;

export interface CliExit {
  /** null when loops stopped it after its stream had ended (`ended`). */
  exitCode: number | null;
  /** True when the CLI was stopped because its stream had said its last word ('done' or 'failing'). */
  ended: boolean;
  /** The end of stderr, secrets removed, for error messages. */
  stderrTail: string;
  /** Characters printed on stdout, all of them (what was passed on is bounded). */
  stdoutChars: number;
  /** Lines longer than MAX_LINE_CHARS, passed on cut. */
  cutLines: number;
}

/** A stdout line is passed on up to this long: one line with no newline must not fill the memory. */
export const MAX_LINE_CHARS = 2_000_000;
/** Of stderr, only the end is kept (error messages quote its last TAIL_CHARS). */
const STDERR_KEEP_CHARS = 16_000;

const TAIL_CHARS = 1500;
/** Between SIGTERM and SIGKILL: time for the agent to stop its own tools and tidy up. */
const KILL_GRACE_MS = 2_000;
/** After the CLI exits, how long processes that escaped its group may keep its output open. */
const DRAIN_MS = 1_000;
/** After a 'done' line: time to exit by itself (and flush) before it is stopped. */
const END_GRACE_MS = 2_000;
/** After a 'failing' line: time to show it is still working (Codex's error events are not all fatal). */
export const FAILING_GRACE_MS = 10_000;

export async function runCli(spec: CliSpec): Promise<CliExit> {
  if (spec.signal?.aborted) throw aborted(spec);
  if (spec.cwd === undefined) {
    throw new ProviderError(
      'config',
      `${spec.provider} runs \`${spec.file}\` in the run's worktree, but none was given`,
      spec.provider,
    );
  }
  const prepared = spec.sandbox?.prepareCommand({
    file: spec.file,
    args: spec.args,
    cwd: spec.cwd,
    env: { ...spec.env } as Record<string, string>,
    profile: 'agent',
  });
  const child = execa(prepared?.file ?? spec.file, prepared?.args ?? spec.args, {
    cwd: spec.cwd,
    env: prepared?.env ?? spec.env,
    extendEnv: false,
    reject: false,
    // Both read here as they arrive, in bounded memory (LineReader, the stderr tail).
    buffer: false,
    ...(spec.input === undefined ? { stdin: 'ignore' as const } : { input: spec.input }),
    // Its own process group: the shells and servers the agent starts go when it goes.
    detached: GROUPS,
  });
  const group = superviseGroup(child, { graceMs: KILL_GRACE_MS, drainMs: DRAIN_MS });
  const onAbort = (): void => group.stop();
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > STDERR_KEEP_CHARS * 2) stderr = stderr.slice(-STDERR_KEEP_CHARS);
  });
  // A CLI whose stream has ended is stopped after a grace, so one that never exits cannot hang the run.
  let ended = false;
  let endTimer: NodeJS.Timeout | undefined;
  let failing = false;
  const endAfter = (ms: number): void => {
    clearTimeout(endTimer);
    endTimer = setTimeout(() => {
      ended = true;
      group.stop();
    }, ms);
  };
  let done = false;
  const verdict = (v: LineVerdict): void => {
    if (done) return;
    if (v === 'done') {
      done = true;
      endAfter(END_GRACE_MS);
    } else if (v === 'failing' && !failing) {
      failing = true;
      endAfter(spec.failingGraceMs ?? FAILING_GRACE_MS);
    } else if (v === 'working' && failing) {
      failing = false;
      clearTimeout(endTimer);
    }
  };
  // Once the call is aborted (a stop, the deadline, a cap reached), what is still in the pipe is
  // nobody's: it is neither passed on nor counted.
  const lines = new LineReader(MAX_LINE_CHARS, (line) => {
    if (!spec.signal?.aborted) verdict(spec.onLine(line));
  });
  try {
    if (child.stdout) {
      child.stdout.setEncoding('utf8');
      for await (const chunk of child.stdout) {
        if (spec.signal?.aborted) break;
        lines.push(String(chunk));
      }
    }
    lines.end();
    const result = await child;
    if (spec.signal?.aborted) throw aborted(spec);
    const missingInside = prepared !== undefined && result.exitCode === 1 && SANDBOXED_MISSING.test(stderr);
    if (result.code === 'ENOENT' || missingInside) {
      throw new ProviderError(
        'config',
        `\`${spec.file}\` was not found on PATH: ${spec.missingHint}`,
        spec.provider,
      );
    }
    if (result.exitCode === undefined && ended) {
      return {
        exitCode: null,
        ended,
        stderrTail: tail(spec.redactor.text(stderr)),
        stdoutChars: lines.chars,
        cutLines: lines.cutLines,
      };
    }
    if (result.exitCode === undefined) {
      const why = result.signal
        ? `was killed by ${result.signal}`
        : `could not start: ${result.shortMessage}`;
      throw new ProviderError('server', `\`${spec.file}\` ${why}`, spec.provider, false, { cause: result });
    }
    return {
      exitCode: result.exitCode,
      ended,
      stderrTail: tail(spec.redactor.text(stderr)),
      stdoutChars: lines.chars,
      cutLines: lines.cutLines,
    };
  } finally {
    clearTimeout(endTimer);
    spec.signal?.removeEventListener('abort', onAbort);
    group.dispose();
  }
}

/**
 * A non-zero exit with nothing usable on stdout, quoting the end of stderr. With a `label` (a CLI agent
 * whose stderr is its own words), the kind is read from them: a refused login, a limit, no network.
 */
export function exitError(
  spec: Pick<CliSpec, 'provider' | 'file'>,
  exit: CliExit,
  label?: CliFailureLabel,
): ProviderError {
  const said = exit.stderrTail === '' ? 'and printed nothing on stderr' : `: ${exit.stderrTail}`;
  const message = `\`${spec.file}\` exited with status ${exit.exitCode}${said}`;
  if (!label || exit.stderrTail === '') return new ProviderError('server', message, spec.provider);
  const { kind, retryable } = classifyCliMessage(exit.stderrTail);
  const where =
    kind === 'connection' && label.endpoint
      ? ` (endpoint ${label.endpoint.url}, from ${label.endpoint.source})`
      : '';
  return new ProviderError(kind, `${message}${where}`, spec.provider, retryable);
}

function aborted(spec: Pick<CliSpec, 'provider' | 'file'>): ProviderError {
  return new ProviderError('aborted', `the \`${spec.file}\` process was stopped`, spec.provider);
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > TAIL_CHARS ? `…${trimmed.slice(-TAIL_CHARS)}` : trimmed;
}

/** Splits streamed text into lines, each cut to `maxLine` characters, in memory bounded by it. */
export class LineReader {
  chars = 0;
  cutLines = 0;
  private partial = '';
  private dropping = false;

  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: string): void {
    this.chars += chunk.length;
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      const piece = newline === -1 ? chunk.slice(start) : chunk.slice(start, newline);
      if (!this.dropping) {
        const room = this.maxLine - this.partial.length;
        if (piece.length > room) {
          this.partial += piece.slice(0, room);
          this.dropping = true;
          this.cutLines += 1;
        } else {
          this.partial += piece;
        }
      }
      if (newline === -1) return;
      this.emit();
      start = newline + 1;
    }
  }

  /** The last line, when the output did not end with a newline. */
  end(): void {
    if (this.partial !== '' || this.dropping) this.emit();
  }

  private emit(): void {
    const line = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    this.partial = '';
    this.dropping = false;
    this.onLine(line);
  }
}
