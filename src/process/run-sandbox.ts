/**
 * One run's sandbox: opened (and probed) when the run starts, before any model call, so a sandbox that
 * cannot start fails the run with the fix instead of running unconfined; bound to the worktree once
 * it exists (a private /tmp and an empty HOME are made then, and the holdout graders' files found);
 * disposed when the run ends. It also adds the variables a loop passes through on purpose
 * (`sandbox: { env: [NAMES] }`, from loops' own environment), confined or not.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { LoopDefinition } from '../core/definition/schema.js';
import { commandScripts } from '../core/verify/grader-inputs.js';
import { BwrapSandbox, probeBubblewrap, type BwrapPolicy } from './bubblewrap.js';
import {
  noSandbox,
  SandboxUnavailableError,
  type CommandRequest,
  type Confinement,
  type PreparedCommand,
  type Sandbox,
  type SandboxKind,
} from './sandbox.js';
import { fallbackSocketDir } from '../daemon/socket-path.js';
import { SeatbeltSandbox } from './seatbelt.js';

export interface RunSandboxOptions {
  definition: LoopDefinition;
  /** The main checkout: read-only inside, its state/ and .loops/ hidden. */
  repoRoot: string;
  /** loops' own environment: where passed-through variables, HOME and PATH come from. */
  env: NodeJS.ProcessEnv;
  /** The bwrap executable (tests name one that does not exist to see the error). */
  bwrapPath?: string;
  /**
   * When the sandbox cannot start: `fail` (the default) fails the run with the fix; `unconfined` runs
   * without it and says so (the offline demo, so a fresh machine can try loops).
   */
  fallback?: 'fail' | 'unconfined';
  platform?: NodeJS.Platform;
  /** The shared dependency cache the setup profile may write; default ~/.cache/loops/setup. */
  setupCache?: string;
}

/** Holdout globs with more matches than this are hidden folder by folder, not file by file. */
const MAX_HOLDOUT_FILES = 200;

export class RunSandbox implements Sandbox {
  private inner: Sandbox | undefined;
  private dirs: string | undefined;

  private constructor(
    readonly kind: SandboxKind,
    readonly confinement: Confinement,
    /** Set when the run is unconfined because the sandbox could not start: shown to people. */
    readonly warning: string | undefined,
    private readonly opts: RunSandboxOptions,
    private readonly passEnv: Record<string, string>,
  ) {}

  /** Probes the sandbox (once per process); throws SandboxUnavailableError with the fix unless `fallback: unconfined`. */
  static async open(opts: RunSandboxOptions): Promise<RunSandbox> {
    const def = opts.definition;
    const passEnv = passedThrough(def, opts.env);
    const setting = def.sandbox;
    if (setting === 'off') {
      return new RunSandbox(
        'none',
        describe('off', def, 'sandbox: off in LOOP.md'),
        undefined,
        opts,
        passEnv,
      );
    }
    const platform = opts.platform ?? process.platform;
    let problem: string | undefined;
    let kind: SandboxKind = 'none';
    if (platform === 'linux') {
      problem = await probeBubblewrap(opts.bwrapPath ?? 'bwrap');
      kind = 'bubblewrap';
    } else if (platform === 'darwin') {
      kind = 'seatbelt';
    } else {
      problem = `the sandbox cannot start: there is none for ${platform} yet; set \`sandbox: off\` in LOOP.md to run the loop unconfined`;
    }
    if (problem !== undefined) {
      if (opts.fallback !== 'unconfined') throw new SandboxUnavailableError(problem);
      const warning = `running UNCONFINED: ${problem.replace(/^the sandbox cannot start: /, '')}`;
      return new RunSandbox('none', describe('off', def, warning), warning, opts, passEnv);
    }
    const what = kind === 'bubblewrap' ? 'bubblewrap' : 'seatbelt';
    return new RunSandbox(kind, describe(what, def), undefined, opts, passEnv);
  }

  /** Binds the sandbox to the run's worktree: makes its private folders and finds what to hide. */
  async enter(worktree: string): Promise<void> {
    if (this.kind === 'none') {
      this.inner = noSandbox;
      return;
    }
    const root = await realpath(this.opts.repoRoot);
    const tree = await realpath(worktree);
    this.dirs = await mkdtemp(path.join(os.tmpdir(), 'loops-sandbox-'));
    const tmpDir = path.join(this.dirs, 'tmp');
    const homeDir = path.join(this.dirs, 'home');
    await mkdir(tmpDir);
    await mkdir(homeDir);
    const userHome = this.opts.env.HOME;
    const home =
      userHome !== undefined && path.isAbsolute(userHome) && path.resolve(userHome) !== '/'
        ? path.resolve(userHome)
        : homeDir;
    const holdout = await holdoutPaths(this.opts.definition, [root, tree]);
    const policy: BwrapPolicy = {
      binary: this.opts.bwrapPath ?? 'bwrap',
      worktree: tree,
      tmpDir,
      homeDir,
      home,
      reveal: revealed(root, tree, this.opts.env, home),
      // The owner's socket lives in state/, or (a long path) in its fallback folder: both hidden.
      hiddenDirs: await existing([
        path.join(root, 'state'),
        path.join(root, '.loops'),
        fallbackSocketDir(path.join(root, 'state'), this.opts.env),
      ]),
      hiddenInWorktree: await existing([path.join(tree, 'state'), path.join(tree, '.loops')]),
      holdoutFiles: holdout.files,
      holdoutDirs: holdout.dirs,
      network: this.network,
      setupCache:
        this.opts.setupCache ?? path.join(home === homeDir ? os.homedir() : home, '.cache', 'loops', 'setup'),
    };
    this.inner = this.kind === 'seatbelt' ? new SeatbeltSandbox(policy) : new BwrapSandbox(policy);
  }

  /** The shared dependency cache of the setup profile, once the worktree is entered (none unconfined). */
  get setupCache(): string | undefined {
    return this.inner && 'policy' in this.inner
      ? (this.inner.policy as { setupCache?: string }).setupCache
      : undefined;
  }

  get network(): boolean {
    const setting = this.opts.definition.sandbox;
    return setting !== 'off' && setting.network;
  }

  prepareCommand(request: CommandRequest): PreparedCommand {
    if (!this.inner) throw new Error('the sandbox was used before the run had a worktree');
    const env = { ...request.env, ...this.passEnv };
    return this.inner.prepareCommand({ ...request, env });
  }

  /** Removes the private /tmp and HOME. */
  async dispose(): Promise<void> {
    if (this.dirs !== undefined) await rm(this.dirs, { recursive: true, force: true });
    this.dirs = undefined;
  }

  /** For the CLI agents, which run under their own sandbox: the variables passed through on purpose. */
  get passedEnv(): Record<string, string> {
    return { ...this.passEnv };
  }
}

function passedThrough(def: LoopDefinition, env: NodeJS.ProcessEnv): Record<string, string> {
  // Unconfined (`sandbox: off`), commands get the scrubbed environment and nothing more.
  const names = def.sandbox === 'off' ? [] : def.sandbox.env;
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function describe(kind: 'bubblewrap' | 'seatbelt' | 'off', def: LoopDefinition, why?: string): Confinement {
  const setting = def.sandbox;
  const net = setting !== 'off' && setting.network ? 'network on' : 'network off';
  const graders =
    kind === 'off'
      ? `graders and commands unconfined (${why ?? 'no sandbox'})`
      : `graders confined by ${kind} (${net})`;
  if (def.agent.provider === 'claude-code') {
    return {
      kind: 'claude-code',
      description: `Claude Code's own sandbox (sandbox.enabled, no unsandboxed commands); ${graders}`,
    };
  }
  if (def.agent.provider === 'codex') {
    return { kind: 'codex', description: `Codex's own sandbox (--sandbox workspace-write); ${graders}` };
  }
  if (kind === 'off') return { kind: 'off', description: `unconfined: ${why ?? 'no sandbox'}` };
  return {
    kind,
    description: `${kind}: worktree, private /tmp and empty HOME writable; the rest read-only; state/ and holdout files hidden; ${net}`,
  };
}

async function existing(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (info?.isDirectory()) found.push(p);
  }
  return found;
}

/** Paths the private /tmp, the covered /run and the empty HOME would shadow, that commands still need. */
/** The folder loops is installed in (the package root: src/ or dist/ is one level below this file's). */
const LOOPS_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

function revealed(root: string, tree: string, env: NodeJS.ProcessEnv, home: string): string[] {
  const shadowed = (p: string): boolean =>
    [home, '/tmp', '/run'].some((top) => p === top || p.startsWith(`${top}${path.sep}`));
  // loops' own installation too (read-only): the MCP servers and tools it ships with live in its
  // node_modules, which may sit under HOME or /tmp (an npx cache, a CI checkout).
  const candidates = [root, path.dirname(path.dirname(process.execPath)), LOOPS_ROOT];
  for (const entry of (env.PATH ?? '').split(path.delimiter))
    if (path.isAbsolute(entry)) candidates.push(entry);
  return [...new Set(candidates.map((p) => path.resolve(p)))].filter(
    (p) => shadowed(p) && p !== home && p !== tree && existsSync(p),
  );
}

/** The holdout graders' own files (their `protect:` globs and the scripts their commands run), in each root. */
async function holdoutPaths(
  def: LoopDefinition,
  roots: readonly string[],
): Promise<{ files: string[]; dirs: string[] }> {
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const grader of def.verify) {
    if (!grader.holdout) continue;
    const command =
      'command' in grader ? grader.command : 'metric' in grader ? grader.metric.command : undefined;
    for (const root of roots) {
      for (const glob of grader.protect) {
        const whole = /^(.*)\/\*\*$/.exec(glob);
        if (whole?.[1] !== undefined && !isDynamicPattern(whole[1])) {
          const dir = path.join(root, whole[1]);
          if ((await stat(dir).catch(() => undefined))?.isDirectory()) dirs.add(dir);
          continue;
        }
        for (const match of await matches(root, glob)) files.add(match);
      }
      if (command !== undefined) {
        for (const script of await commandScripts(command, root)) files.add(path.join(root, script));
      }
    }
  }
  return {
    files: [...files].filter((f) => ![...dirs].some((d) => f.startsWith(`${d}${path.sep}`))),
    dirs: [...dirs],
  };
}

async function matches(root: string, pattern: string): Promise<string[]> {
  const found = await glob(pattern, {
    cwd: root,
    dot: true,
    absolute: true,
    followSymbolicLinks: false,
    onlyFiles: true,
    ignore: ['.git/**', '**/node_modules/**', '.loops/**'],
  });
  if (found.length > MAX_HOLDOUT_FILES) {
    throw new SandboxUnavailableError(
      `a holdout grader protects ${found.length} files with "${pattern}": name their folder (folder/**) so the sandbox can hide it whole`,
    );
  }
  return found;
}
