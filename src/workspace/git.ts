/**
 * Running git: never through a shell, never prompting, judged by exit code (git reports progress on
 * stderr), and never running code the agent could have planted. The agent can write a worktree's
 * files and (unless the sandbox stops it) the repository's config, so every command loops runs
 *   - switches off hooks, fsmonitor, signing, pagers, editors, external diffs and auto-maintenance
 *     on its command line (which beats every config file);
 *   - switches off every filter driver any config file names (a clean or smudge filter is a command),
 *     found with one `git config --list` that is only run again when a config file changes;
 *   - ignores replace refs (GIT_NO_REPLACE_OBJECTS), so `git replace` cannot change what loops reads;
 *   - inherits no GIT_* variable from loops' environment except the identity ones;
 *   - in a worktree, pins GIT_DIR, GIT_COMMON_DIR and GIT_WORK_TREE to what loops made, so a `.git`
 *     file rewritten to point elsewhere is never read.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnCollect } from './git-spawn.js';
import { WorkspaceError } from './errors.js';

export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Where a command runs: a folder, or a worktree with its git dirs pinned. */
export type GitPlace = string | PinnedPlace;

export interface PinnedPlace {
  /** The worktree's folder (also the working directory). */
  workTree: string;
  /** The worktree's own git dir, `<common>/worktrees/<id>`, as loops recorded it. */
  gitDir: string;
  /** The repository's shared git dir. */
  commonDir: string;
}

/** Config set on every command line: it wins over every file the agent could write. */
const HARDENED: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.attributesFile=/dev/null',
  'core.pager=cat',
  'core.editor=true',
  'sequence.editor=true',
  'diff.external=',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'fetch.writeCommitGraph=false',
].flatMap((setting) => ['-c', setting]);

/** The only GIT_* variables passed on from loops' environment: who commits, nothing that redirects or runs. */
const PASSED_ON = new Set([
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
]);

/** git processes run, for the test that counts them per iteration (a behaviour, not a timing). */
let started = 0;
export function gitProcessCount(): number {
  return started;
}

/** Processes loops' own process started for git (a shell running two gits is one). */
let spawned = 0;
export function gitSpawnCount(): number {
  return spawned;
}

function gitEnv(place: GitPlace, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (name.startsWith('GIT_') && !PASSED_ON.has(name)) continue;
    env[name] = value;
  }
  const pinned: Record<string, string> =
    typeof place === 'string'
      ? {}
      : { GIT_DIR: place.gitDir, GIT_COMMON_DIR: place.commonDir, GIT_WORK_TREE: place.workTree };
  return {
    ...env,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    ...pinned,
    ...extra,
  };
}

function cwdOf(place: GitPlace): string {
  return typeof place === 'string' ? place : place.workTree;
}

export interface GitOptions {
  /** Bytes or text for git's standard input. */
  input?: string | Uint8Array;
}

/** One git process, hardened as above, with no filter-driver switch-offs (those need this to find them). */
async function spawnGit(
  place: GitPlace,
  args: readonly string[],
  env: Record<string, string>,
  options: GitOptions & {
    encoding?: 'buffer';
    /** A /bin/sh script that runs `gits` gits: "$@" is `first`, then the hardened options, then `args`. */
    viaShell?: { script: string; gits: number; first: string };
  },
): Promise<{ exitCode: number; stdout: string | Uint8Array; stderr: string }> {
  started += options.viaShell?.gits ?? 1;
  spawned += 1;
  const cwd = cwdOf(place);
  // A script gets the hardened options as "$@" (never spliced into its text) to pass to each git.
  const argv = options.viaShell
    ? ['-c', options.viaShell.script, 'sh', options.viaShell.first, ...HARDENED, ...args]
    : [...HARDENED, ...args];
  const result = await spawnCollect(argv, {
    ...(options.viaShell ? { file: '/bin/sh' } : {}),
    cwd,
    env: gitEnv(place, env),
    input: options.input,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.exitCode === undefined) {
    const missing = /ENOENT/.test(result.failure ?? '') && !/cwd/.test(result.failure ?? '');
    throw new WorkspaceError(
      missing
        ? 'git was not found: install git and make sure it is on PATH'
        : `could not run git in ${cwd}: ${result.failure ?? 'unknown error'}`,
      { cause: result },
    );
  }
  return {
    exitCode: result.exitCode,
    stdout: options.encoding === 'buffer' ? result.stdout : result.stdout.toString('utf8'),
    stderr: result.stderr,
  };
}

export async function git(
  place: GitPlace,
  args: readonly string[],
  env: Record<string, string> = {},
  options: GitOptions = {},
): Promise<GitResult> {
  const settings = await configFor(place);
  const result = await spawnGit(place, args, { ...settings.env, ...env }, options);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: result.stderr };
}

/** git with its standard output as bytes (blobs are not always text). */
export async function gitBytes(
  place: GitPlace,
  args: readonly string[],
  options: GitOptions = {},
): Promise<{ exitCode: number; stdout: Buffer; stderr: string }> {
  const settings = await configFor(place);
  const result = await spawnGit(place, args, settings.env, { ...options, encoding: 'buffer' });
  const out = result.stdout;
  return {
    exitCode: result.exitCode,
    stdout:
      typeof out === 'string' ? Buffer.from(out) : Buffer.from(out.buffer, out.byteOffset, out.byteLength),
    stderr: result.stderr,
  };
}

/**
 * `git add -A`, then (when it succeeded) `git commit` of what it staged. Each git is hardened as
 * above; the shell that runs them gets the message as $1 and the hardened options and `config` as
 * the rest of "$@" (never spliced into its text), and the environment every git gets.
 */
const ADD_AND_COMMIT =
  'm=$1; shift\n' +
  'git "$@" add -A || exit 125\n' +
  'exec git "$@" commit --no-verify --quiet --untracked-files=no -m "$m"';

/**
 * `add -A` then `commit` as one process start from loops: a small shell starts the two gits. A start
 * from loops' large Node process costs several times one from a shell (its page tables are copied,
 * and the event loop waits until the child has exec'd), and this pair follows every agent turn of
 * every loop. `stage` says whose result it is: the add's when the add failed, else the commit's.
 * Windows has no /bin/sh: there the two run one after the other.
 */
export async function gitAddAllAndCommit(
  place: PinnedPlace,
  config: readonly string[],
  message: string,
): Promise<GitResult & { stage: 'add' | 'commit' }> {
  const commit = ['commit', '--no-verify', '--quiet', '--untracked-files=no', '-m', message];
  if (process.platform === 'win32') {
    const added = await git(place, [...config, 'add', '-A']);
    if (added.exitCode !== 0) return { ...added, stage: 'add' };
    return { ...(await git(place, [...config, ...commit])), stage: 'commit' };
  }
  const settings = await configFor(place);
  const result = await spawnGit(place, config, settings.env, {
    viaShell: { script: ADD_AND_COMMIT, gits: 2, first: message },
  });
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout),
    stderr: result.stderr,
    stage: result.exitCode === 125 ? 'add' : 'commit',
  };
}

/** git, where a non-zero exit is a WorkspaceError saying what was being done. */
export async function gitOk(
  place: GitPlace,
  args: readonly string[],
  doing: string,
  env?: Record<string, string>,
  options?: GitOptions,
): Promise<string> {
  const result = await git(place, args, env, options);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim() || result.stdout.trim() || `exit code ${result.exitCode}`;
    throw new WorkspaceError(`${doing} failed: ${detail}`);
  }
  return result.stdout;
}

/** What the config files of a place say that loops must know: filters to switch off, and who commits. */
export interface GitSettings {
  /**
   * `filter.NAME.clean=` and friends for every filter driver any config names, as GIT_CONFIG_COUNT
   * variables (they beat config files, and a driver's name may hold characters `-c` cannot).
   */
  env: Record<string, string>;
  /** Whether user.name and user.email are both set. */
  hasIdentity: boolean;
}

interface CachedSettings {
  fingerprint: string;
  files: string[];
  settings: GitSettings;
}

const cache = new Map<string, CachedSettings>();

/** The config files git reads for a place, whether or not they exist yet (a new one must be noticed). */
function candidateFiles(place: GitPlace): string[] {
  const home = os.homedir();
  const xdg = process.env['XDG_CONFIG_HOME'] || path.join(home, '.config');
  const files = ['/etc/gitconfig', path.join(home, '.gitconfig'), path.join(xdg, 'git', 'config')];
  if (typeof place === 'string') {
    files.push(path.join(place, '.git', 'config'), path.join(place, '.git', 'config.worktree'));
  } else {
    files.push(
      path.join(place.commonDir, 'config'),
      path.join(place.commonDir, 'config.worktree'),
      path.join(place.gitDir, 'config.worktree'),
    );
  }
  return files;
}

async function fingerprintOf(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (file) => {
      const info = await stat(file).catch(() => undefined);
      return info ? `${file}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}` : `${file}:-`;
    }),
  );
  return parts.join('|');
}

/**
 * The settings for a place, from one `git config --list` while no config file has changed since the
 * last one: a few stat calls per command, and a process only when something was written.
 */
export async function configFor(place: GitPlace): Promise<GitSettings> {
  const key = typeof place === 'string' ? path.resolve(place) : place.gitDir;
  const cached = cache.get(key);
  if (cached && (await fingerprintOf(cached.files)) === cached.fingerprint) return cached.settings;

  const known = cached?.files ?? candidateFiles(place);
  // Taken before the listing: a file written meanwhile differs from it, so it is read again next time.
  const before = await fingerprintOf(known);
  const listed = await spawnGit(place, ['config', '--list', '--show-origin', '-z'], {}, {});
  const drivers = new Set<string>();
  const origins = new Set<string>();
  let name = false;
  let email = false;
  // Records are "origin\0key\nvalue\0" (a key without a value has no "\n").
  const fields = String(listed.stdout).split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const origin = fields[i] ?? '';
    const entry = fields[i + 1] ?? '';
    const newline = entry.indexOf('\n');
    const configKey = newline < 0 ? entry : entry.slice(0, newline);
    const value = newline < 0 ? '' : entry.slice(newline + 1);
    if (origin.startsWith('file:')) origins.add(path.resolve(cwdOf(place), origin.slice('file:'.length)));
    const filter = /^filter\.(.+)\.(clean|smudge|process|required)$/i.exec(configKey);
    if (filter?.[1] !== undefined) drivers.add(filter[1]);
    if (configKey.toLowerCase() === 'user.name' && value.trim() !== '') name = true;
    if (configKey.toLowerCase() === 'user.email' && value.trim() !== '') email = true;
  }
  const pairs = [...drivers].flatMap((driver) =>
    ['clean', 'smudge', 'process', 'required'].map(
      (setting) => [`filter.${driver}.${setting}`, setting === 'required' ? 'false' : ''] as const,
    ),
  );
  const env: Record<string, string> = {};
  if (pairs.length > 0) {
    env['GIT_CONFIG_COUNT'] = String(pairs.length);
    pairs.forEach(([configKey, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = configKey;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
  }
  const files = [...new Set([...known, ...origins])];
  const fingerprint = files.length === known.length ? before : await fingerprintOf(files);
  const settings: GitSettings = { env, hasIdentity: name && email };
  cache.set(key, { fingerprint, files, settings });
  return settings;
}
