/**
 * Running a CLI agent (claude, codex, any command) for one model call: in the run's worktree, with the
 * run's environment (these CLIs bring their own credentials), stdout read line by line as it arrives,
 * killed when the call is aborted. Failures become ProviderErrors that say what to do.
 */
import { execa } from 'execa';
import { isSecretName } from '../tools/env.js';
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
  /** Written to stdin; without it stdin is empty, so a CLI that reads it does not wait. */
  input?: string;
  signal?: AbortSignal;
  /** The second half of "`file` was not found on PATH: …". */
  missingHint: string;
  /** Each stdout line, without its newline, as it arrives. */
  onLine: (line: string) => void;
}

export interface CliExit {
  exitCode: number;
  /** The end of stderr, secrets removed, for error messages. */
  stderrTail: string;
}

const TAIL_CHARS = 1500;

export async function runCli(spec: CliSpec): Promise<CliExit> {
  if (spec.signal?.aborted) throw aborted(spec);
  if (spec.cwd === undefined) {
    throw new ProviderError(
      'config',
      `${spec.provider} runs \`${spec.file}\` in the run's worktree, but none was given`,
      spec.provider,
    );
  }
  const child = execa(spec.file, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    reject: false,
    buffer: { stdout: false, stderr: true },
    ...(spec.input === undefined ? { stdin: 'ignore' as const } : { input: spec.input }),
    ...(spec.signal ? { cancelSignal: spec.signal } : {}),
  });
  for await (const line of child.iterable({ from: 'stdout' })) spec.onLine(line);
  const result = await child;
  if (result.isCanceled || spec.signal?.aborted) throw aborted(spec);
  if (result.code === 'ENOENT') {
    throw new ProviderError(
      'config',
      `\`${spec.file}\` was not found on PATH: ${spec.missingHint}`,
      spec.provider,
    );
  }
  if (result.exitCode === undefined) {
    const why = result.signal ? `was killed by ${result.signal}` : `could not start: ${result.shortMessage}`;
    throw new ProviderError('server', `\`${spec.file}\` ${why}`, spec.provider, false, { cause: result });
  }
  return { exitCode: result.exitCode, stderrTail: tail(redact(result.stderr, spec.env)) };
}

/** A non-zero exit with nothing usable on stdout. */
export function exitError(spec: Pick<CliSpec, 'provider' | 'file'>, exit: CliExit): ProviderError {
  const said = exit.stderrTail === '' ? 'and printed nothing on stderr' : `: ${exit.stderrTail}`;
  return new ProviderError(
    'server',
    `\`${spec.file}\` exited with status ${exit.exitCode}${said}`,
    spec.provider,
  );
}

function aborted(spec: Pick<CliSpec, 'provider' | 'file'>): ProviderError {
  return new ProviderError('aborted', `the \`${spec.file}\` process was stopped`, spec.provider);
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > TAIL_CHARS ? `…${trimmed.slice(-TAIL_CHARS)}` : trimmed;
}

/** The CLI may echo its own credentials in an error; those never reach a trace. */
function redact(text: string, env: NodeJS.ProcessEnv): string {
  let out = text;
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= 8 && isSecretName(name)) out = out.split(value).join('[redacted]');
  }
  return out;
}
