/** Running git: never through a shell, never prompting, judged by exit code (git reports progress on stderr). */
import { execa } from 'execa';
import { WorkspaceError } from './errors.js';

export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Variables that would point git at another repository or index: set when loops is started from a
 * git hook, and they would silently redirect every command here.
 */
const REDIRECTING = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];

function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !REDIRECTING.includes(name)) env[name] = value;
  }
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', ...extra };
}

export async function git(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<GitResult> {
  const result = await execa('git', args, {
    cwd,
    env: gitEnv(env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.exitCode === undefined) {
    const missing = /ENOENT/.test(result.message ?? '') && !/cwd/.test(result.message ?? '');
    throw new WorkspaceError(
      missing
        ? 'git was not found: install git and make sure it is on PATH'
        : `could not run git in ${cwd}: ${result.message ?? 'unknown error'}`,
      { cause: result },
    );
  }
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** git, where a non-zero exit is a WorkspaceError saying what was being done. */
export async function gitOk(
  cwd: string,
  args: readonly string[],
  doing: string,
  env?: Record<string, string>,
): Promise<string> {
  const result = await git(cwd, args, env);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim() || result.stdout.trim() || `exit code ${result.exitCode}`;
    throw new WorkspaceError(`${doing} failed: ${detail}`);
  }
  return result.stdout;
}
