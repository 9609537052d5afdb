/**
 * The watch trigger: a loop with `trigger.watch` starts when files under its globs (relative to the
 * repository root) change, once the changes have been quiet for `trigger.debounce` seconds; the run's
 * context lists the changed files.
 *
 * One chokidar watcher serves every loop. It never looks into `.git/`, `node_modules/`, loops' own
 * `.loops/` (the runs' worktrees: a run's edits never reach the checkout) or `state/` (traces, memory).
 * Changes loops itself makes in the checkout do not start runs either, or a merge could start the run
 * whose merge starts the next: a changed file whose content now equals HEAD, while HEAD is a commit
 * loops made (a review-pane merge "Merge loops run ...", a run's own "loops: ..." commit taken by a fast
 * forward, a hill-climb commit), is loops' own. The review merge always writes such a merge commit (never a
 * fast-forward onto the agent's own last commit, workspace/review.ts), so that holds for it. A start that finds the loop's run in flight follows
 * `trigger.overlap` (the supervisor keeps at most one queued start per loop).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import picomatch from 'picomatch';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import { WATCH_IGNORED_DIRS } from '../core/definition/trigger-checks.js';
import { git } from '../workspace/git.js';
import { fireEvent, messageOf } from './fire.js';
import type { TriageOptions } from './triage.js';

/** Commit subjects loops writes in a checkout; a hill-climb commit should start with "loops:" too. */
export const LOOPS_COMMIT = /^(Merge loops run |loops: |loops hill-climb)/;

interface WatchedLoop {
  loop: string;
  globs: string[];
  match: (file: string) => boolean;
  debounceMs: number;
  overlap: 'queue' | 'drop';
  pending: Set<string>;
  timer?: NodeJS.Timeout;
  lastAt: number;
}

export interface WatchJobOptions {
  /** How a loop's `trigger.triage` call is made (the fleet's call gate, a test's provider). */
  triage?: TriageOptions;
  /** Poll instead of native events (network file systems; some containers). */
  usePolling?: boolean;
  interval?: number;
}

export class WatchJob implements SupervisorJob {
  readonly name = 'watch';
  private readonly loops = new Map<string, WatchedLoop>();
  private watcher: FSWatcher | undefined;
  private watching = new Set<string>();
  private ctx: JobContext | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  /** Batches being checked against git before they fire (tests wait for them). */
  private inFlight = new Set<Promise<void>>();
  private configuring: Promise<void> = Promise.resolve();
  private releaseReady: (() => void) | undefined;

  constructor(private readonly options: WatchJobOptions = {}) {}

  async start(ctx: JobContext): Promise<void> {
    this.ctx = ctx;
    this.unsubscribe = ctx.subscribe((event) => {
      if (event.type !== 'loops.changed') return;
      // One reconfiguration after another: two quick reloads never race over the watcher.
      this.configuring = this.configuring
        .then(() => this.configure())
        .catch((error: unknown) => ctx.reportError(error));
    });
    await this.configure();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.releaseReady?.();
    for (const w of this.loops.values()) clearTimeout(w.timer);
    this.loops.clear();
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.close();
  }

  /** The folders being watched now, repo-relative ("" is the root): for tests and `loops daemon` logs. */
  watched(): string[] {
    return [...this.watching].sort();
  }

  /** Resolves once a reload's watcher is ready and no batch is waiting for its git check (tests). */
  async settled(): Promise<void> {
    await this.configuring;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async configure(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx || this.stopped) return;
    const defs = ctx.definitions().filter((d) => (d.trigger.watch?.length ?? 0) > 0);
    const names = new Set(defs.map((d) => d.name));
    for (const [loop, w] of [...this.loops])
      if (!names.has(loop)) {
        clearTimeout(w.timer);
        this.loops.delete(loop);
      }
    for (const def of defs) this.loops.set(def.name, this.watchedLoop(def));
    const roots = new Set(
      defs.flatMap((d) => (d.trigger.watch ?? []).map((g) => existingFolder(ctx.repoRoot, watchRoot(g)))),
    );
    await this.watchFolders(ctx, roots);
  }

  private watchedLoop(def: LoopDefinition): WatchedLoop {
    const globs = def.trigger.watch ?? [];
    const old = this.loops.get(def.name);
    const same = old !== undefined && old.globs.join('\n') === globs.join('\n');
    const matchers = globs.map(globMatcher);
    return {
      loop: def.name,
      globs,
      match: (file) => matchers.some((m) => m(file)),
      debounceMs: def.trigger.debounce * 1000,
      overlap: def.trigger.overlap,
      // Changes seen under the old globs still count when the globs stayed the same.
      pending: same ? old.pending : new Set(),
      ...(same && old.timer ? { timer: old.timer } : {}),
      lastAt: same ? old.lastAt : 0,
    };
  }

  private async watchFolders(ctx: JobContext, roots: Set<string>): Promise<void> {
    const root = ctx.repoRoot;
    // The watcher is made again when the folders change: simpler than add/unwatch, and rare (reloads).
    if (this.watcher && sameSet(roots, this.watching)) return;
    const old = this.watcher;
    this.watcher = undefined;
    this.watching = new Set();
    await old?.close();
    if (roots.size === 0 || this.stopped) return;
    const watcher = watch(
      [...roots].map((r) => (r === '' ? root : path.join(root, r))),
      {
        ignoreInitial: true,
        // A symlink to a folder outside the repository is not the repository's change.
        followSymlinks: false,
        ignored: (p) => ignoredPath(root, p),
        // A file written in several chunks is one change, not several half-written ones.
        awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 },
        ...(this.options.usePolling ? { usePolling: true, interval: this.options.interval ?? 200 } : {}),
      },
    );
    this.watcher = watcher;
    watcher.on('all', (event, file) => {
      if (event === 'addDir' || event === 'unlinkDir') return;
      this.changed(path.relative(root, file).split(path.sep).join('/'));
    });
    watcher.on('error', (error) => {
      ctx.reportError(new Error(`watch: ${messageOf(error)}`));
    });
    // Stopped before it was ready: chokidar never says ready after close, so stop() lets this go.
    await new Promise<void>((resolve) => {
      this.releaseReady = resolve;
      watcher.once('ready', () => resolve());
    });
    this.releaseReady = undefined;
    if (this.watcher === watcher) this.watching = roots;
  }

  private changed(file: string): void {
    if (this.stopped || file === '' || file.startsWith('..')) return;
    for (const w of this.loops.values()) {
      if (!w.match(file)) continue;
      w.pending.add(file);
      w.lastAt = Date.now();
      clearTimeout(w.timer);
      w.timer = setTimeout(() => this.flush(w), w.debounceMs);
    }
  }

  private flush(w: WatchedLoop): void {
    delete w.timer;
    const files = [...w.pending].sort();
    const at = new Date(w.lastAt || Date.now()).toISOString();
    w.pending.clear();
    if (files.length === 0 || this.stopped) return;
    const check = this.fire(w, files, at).catch((error: unknown) => this.ctx?.reportError(error));
    this.inFlight.add(check);
    void check.finally(() => this.inFlight.delete(check));
  }

  private async fire(w: WatchedLoop, changed: string[], at: string): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const ours = await loopsOwnChanges(ctx.repoRoot, changed).catch((error: unknown) => {
      ctx.reportError(new Error(`watch: could not compare the changes with HEAD: ${messageOf(error)}`));
      return new Set<string>();
    });
    const files = changed.filter((f) => !ours.has(f));
    if (this.stopped || this.loops.get(w.loop)?.globs.join('\n') !== w.globs.join('\n')) return;
    if (files.length === 0) {
      ctx.emit('trigger', w.loop, {
        type: 'trigger.fired',
        trigger: 'watch',
        detail: describeFiles(changed),
        status: 'skipped',
        reason: 'the changes were made by loops itself (a merge or a commit of its own)',
      });
      return;
    }
    await fireEvent(
      ctx,
      w.loop,
      { kind: 'watch', detail: describeFiles(files), at, files },
      { overlap: w.overlap, ...(this.options.triage ? { triage: this.options.triage } : {}) },
    );
  }
}

/** "src/a.ts changed", "3 files changed: src/a.ts, src/b.ts, ...". */
function describeFiles(files: string[]): string {
  if (files.length === 1) return `${files[0] ?? ''} changed`;
  const shown = files.slice(0, 3).join(', ');
  return `${files.length} files changed: ${shown}${files.length > 3 ? ', ...' : ''}`;
}

/** A glob matches its files; a plain path matches itself and everything under it. */
function globMatcher(glob: string): (file: string) => boolean {
  const clean = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  if (!picomatch.scan(clean).isGlob) return (file) => file === clean || file.startsWith(`${clean}/`);
  return picomatch(clean, { dot: true });
}

/** The folder a glob's files live under (a plain path: its parent, since it may be a file). */
function watchRoot(glob: string): string {
  const clean = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  const scan = picomatch.scan(clean);
  const base = scan.isGlob ? scan.base : path.posix.dirname(clean);
  return base === '.' ? '' : base.replace(/\/+$/, '');
}

/** A folder that does not exist yet is watched from its nearest existing parent, to see it appear. */
function existingFolder(repoRoot: string, rel: string): string {
  let at = rel;
  while (at !== '' && !existsSync(path.join(repoRoot, at))) {
    const up = path.posix.dirname(at);
    at = up === '.' ? '' : up;
  }
  return at;
}

export function ignoredPath(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  if (rel === '') return false;
  const parts = rel.split(path.sep);
  if (parts[0] === '..') return true;
  // loops' own folders are at the root; git's and dependencies' folders are skipped at any depth.
  if ((WATCH_IGNORED_DIRS as readonly string[]).includes(parts[0] ?? '')) return true;
  return parts.some((part) => part === '.git' || part === 'node_modules');
}

/**
 * The changed files that are loops' own: HEAD is a commit loops made and the file is as HEAD has it
 * (git status does not list it). Anything else, a person's edit included, is a real change.
 */
async function loopsOwnChanges(repoRoot: string, files: string[]): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  const head = await git(repoRoot, ['log', '-1', '--format=%s', 'HEAD']);
  if (head.exitCode !== 0 || !LOOPS_COMMIT.test(head.stdout.trim())) return new Set();
  const status = await git(repoRoot, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--ignored=matching',
    '--',
    ...files.map((f) => `:(literal)${f}`),
  ]);
  if (status.exitCode !== 0) throw new Error(status.stderr.trim() || `git status exited ${status.exitCode}`);
  const differs = new Set(
    status.stdout
      .split('\0')
      .filter((entry) => entry.length > 3)
      .map((entry) => entry.slice(3)),
  );
  return new Set(files.filter((f) => !differs.has(f)));
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
