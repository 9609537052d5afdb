/**
 * What became of every triggered event, on disk: `state/NAME/triggers.jsonl`, one JSON line per
 * `triage.decided` and `trigger.fired` (the same events the stream and the daemon's log carry), so a
 * skipped event leaves a record even when a screen owns the folder and nothing logs it. Each line is
 * one append of a whole line (O_APPEND: a crash leaves whole lines, at most the last one cut).
 *
 * Bounded: when the file passes MAX_BYTES it becomes `triggers.old.jsonl` (the older one is
 * replaced) and a new one starts, so it never holds more than about twice that.
 */
import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import type { LoopEvent } from '../core/events.js';
import { isNotFound } from '../state/errno.js';
import type { StatePaths } from '../state/paths.js';

export const TRIGGER_LOG_MAX_BYTES = 1024 * 1024;

export function triggerLogFile(paths: StatePaths, loop: string): string {
  return path.join(paths.loopDir(loop), 'triggers.jsonl');
}

export class TriggerLogJob implements SupervisorJob {
  readonly name = 'trigger log';
  private unsubscribe: (() => void) | undefined;
  /** Appends in order, one after another (per process: the owner is the only writer). */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly maxBytes = TRIGGER_LOG_MAX_BYTES) {}

  start(ctx: JobContext): void {
    this.unsubscribe = ctx.subscribe((event) => {
      const line = recordOf(event);
      if (line === undefined || event.loop === '') return;
      const file = triggerLogFile(ctx.paths, event.loop);
      this.chain = this.chain
        .then(() => this.append(file, line))
        .catch((err: unknown) => ctx.reportError(err));
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.chain;
  }

  private async append(file: string, line: string): Promise<void> {
    try {
      if ((await stat(file)).size + line.length > this.maxBytes)
        await rename(file, file.replace(/\.jsonl$/, '.old.jsonl'));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // A loop that has never run has no folder yet.
      await mkdir(path.dirname(file), { recursive: true });
    }
    await appendFile(file, line, { encoding: 'utf8', flag: 'a' });
  }
}

function recordOf(event: LoopEvent): string | undefined {
  if (event.type === 'trigger.fired') {
    const { time, trigger, detail, status, reason, command, target } = event;
    return `${JSON.stringify({ time, event: 'fired', trigger, detail, status, reason, command, target })}\n`;
  }
  if (event.type === 'triage.decided') {
    const { time, trigger, decision, reason, model, usd } = event;
    return `${JSON.stringify({ time, event: 'triage', trigger, decision, reason, model, usd })}\n`;
  }
  return undefined;
}
