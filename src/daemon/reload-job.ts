/**
 * Reload on edit: the owner watches loops/ (LOOP.md, skills, RUBRIC.md, a scripted model's script)
 * and, a moment after the last change, asks the supervisor to read the definitions again. The
 * supervisor announces what changed (`loops.changed`); runs in flight keep the definition they
 * started with. node's recursive fs.watch is enough here: a reload re-reads every loop, so a missed
 * file name costs nothing, and the debounce folds an editor's burst of writes into one reload.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { JobContext, SupervisorJob } from '../core/jobs.js';

export const RELOAD_DEBOUNCE_MS = 300;

export function reloadJob(reload: () => Promise<unknown>, debounceMs = RELOAD_DEBOUNCE_MS): SupervisorJob {
  let watcher: FSWatcher | undefined;
  let rootWatcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const run = (ctx: JobContext): void => {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = reload()
      .then(
        () => undefined,
        (error: unknown) => ctx.reportError(new Error(`reloading loops/ failed: ${String(error)}`)),
      )
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          schedule(ctx);
        }
      });
  };
  const schedule = (ctx: JobContext): void => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => run(ctx), debounceMs);
  };

  const watchLoops = (ctx: JobContext, dir: string): void => {
    watcher = watch(dir, { recursive: true, persistent: false }, () => schedule(ctx));
    watcher.on('error', (error) => {
      ctx.reportError(new Error(`watching loops/ for edits stopped: ${error.message}`));
      watcher?.close();
      watcher = undefined;
    });
  };

  return {
    name: 'reload on edit',
    async start(ctx) {
      const dir = path.join(ctx.repoRoot, 'loops');
      const exists = await stat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (exists) {
        watchLoops(ctx, dir);
        return;
      }
      // No loops/ yet: wait for it to appear (loops new, or a checkout), then watch it.
      rootWatcher = watch(ctx.repoRoot, { persistent: false }, (_kind, file) => {
        if (file !== 'loops' || watcher) return;
        void stat(dir).then(
          (s) => {
            if (!s.isDirectory() || watcher || stopped) return;
            rootWatcher?.close();
            rootWatcher = undefined;
            watchLoops(ctx, dir);
            schedule(ctx);
          },
          () => undefined,
        );
      });
      rootWatcher.on('error', (error) =>
        ctx.reportError(new Error(`watching for loops/ stopped: ${error.message}`)),
      );
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
      rootWatcher?.close();
      await running;
    },
  };
}
