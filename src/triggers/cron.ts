/**
 * The cron trigger: a loop with `trigger.cron` starts at each due time of its five-field expression,
 * read in `trigger.timezone` (default: the machine's own zone).
 *
 * Due times missed while no loops was running are never replayed by surprise: the schedule always
 * continues from now. With `catch_up: true` a loop runs once when this job starts, if a due time passed
 * since its last recorded fire, run or schedule start (`state/NAME/cron.json` keeps the first and the
 * last). Croner parses the expression and finds the next due time; the timer is ours, so a due time
 * further away than a timer can hold (about 24.8 days) is reached in steps, and a clock that jumped
 * ahead (a suspended laptop) fires once, not once per missed time.
 */
import { existsSync } from 'node:fs';
import { Cron } from 'croner';
import { z } from 'zod';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import type { TriggerContext } from '../core/trigger-context.js';
import { MAX_TIMER_MS } from '../core/definition/checks.js';
import { StateIndex } from '../state/index-db.js';
import { fireEvent, messageOf } from './fire.js';
import type { TriageOptions } from './triage.js';
import { WriteQueue, readTriggerState, triggerFile, writeTriggerState } from './trigger-state.js';

const cronStateSchema = z.object({
  /** The expression these times belong to: a changed expression starts a new record. */
  expression: z.string(),
  /** The last due time this loop fired for (whatever the start's reply was). */
  lastDue: z.string().optional(),
  /** When a loops process last began keeping this schedule. */
  seenAt: z.string(),
});
type CronState = z.infer<typeof cronStateSchema>;

interface Schedule {
  loop: string;
  expression: string;
  timezone: string | undefined;
  overlap: 'queue' | 'drop';
  cron: Cron;
  timer?: NodeJS.Timeout;
  nextDue: Date | null;
  state: CronState;
}

export interface CronJobOptions {
  /** The clock (tests fake it with the timers). */
  now?: () => number;
  /** How a loop's `trigger.triage` call is made (the fleet's call gate, a test's provider). */
  triage?: TriageOptions;
}

export class CronJob implements SupervisorJob {
  readonly name = 'cron';
  private readonly schedules = new Map<string, Schedule>();
  private ctx: JobContext | undefined;
  private unsubscribe: (() => void) | undefined;
  private writes: WriteQueue | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly triage: TriageOptions | undefined;

  constructor(options: CronJobOptions = {}) {
    this.now = options.now ?? Date.now;
    this.triage = options.triage;
  }

  async start(ctx: JobContext): Promise<void> {
    this.ctx = ctx;
    this.writes = new WriteQueue((error) => ctx.reportError(error));
    this.unsubscribe = ctx.subscribe((event) => {
      if (event.type !== 'loops.changed') return;
      this.load(false).catch((error: unknown) => ctx.reportError(error));
    });
    await this.load(true);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const schedule of this.schedules.values()) clearTimeout(schedule.timer);
    this.schedules.clear();
  }

  info(loop: string): { nextDue?: string } {
    const next = this.schedules.get(loop)?.nextDue;
    return next ? { nextDue: next.toISOString() } : {};
  }

  /** Waits for the schedules' records to reach the disk (tests, and a clean shutdown). */
  settled(): Promise<void> {
    return this.writes?.settled() ?? Promise.resolve();
  }

  /** The loops' schedules as the definitions say now; `atStart`, a missed due time may be caught up. */
  private async load(atStart: boolean): Promise<void> {
    const ctx = this.ctx;
    if (!ctx || this.stopped) return;
    const wanted = new Map(
      ctx.definitions().flatMap((d) => (d.trigger.cron === undefined ? [] : [[d.name, d] as const])),
    );
    for (const [loop, schedule] of [...this.schedules]) {
      const def = wanted.get(loop);
      if (def && sameSchedule(schedule, def)) {
        schedule.overlap = def.trigger.overlap;
        wanted.delete(loop);
        continue;
      }
      clearTimeout(schedule.timer);
      this.schedules.delete(loop);
      if (!def) ctx.emit('trigger', loop, { type: 'schedule.next', nextDue: null });
    }
    const lastRuns = atStart ? await lastRunStarts(ctx) : new Map<string, string>();
    for (const def of wanted.values()) {
      if (this.stopped) return;
      const expression = def.trigger.cron ?? '';
      let cron: Cron;
      try {
        cron = new Cron(expression, {
          mode: '5-part',
          ...(def.trigger.timezone === undefined ? {} : { timezone: def.trigger.timezone }),
        });
      } catch (error) {
        // Validation refuses a bad expression; reaching here means the check and croner disagree.
        ctx.reportError(new Error(`cron for ${def.name}: ${messageOf(error)}`));
        continue;
      }
      const file = triggerFile(ctx.paths, def.name, 'cron');
      const kept = await readTriggerState(file, cronStateSchema, (e) => ctx.reportError(e));
      const previous = kept?.expression === expression ? kept : undefined;
      const nowIso = new Date(this.now()).toISOString();
      const schedule: Schedule = {
        loop: def.name,
        expression,
        timezone: def.trigger.timezone,
        overlap: def.trigger.overlap,
        cron,
        nextDue: null,
        state: { expression, ...(previous?.lastDue ? { lastDue: previous.lastDue } : {}), seenAt: nowIso },
      };
      this.schedules.set(def.name, schedule);
      if (atStart && def.trigger.catch_up) {
        const since = latest([previous?.lastDue, previous?.seenAt, lastRuns.get(def.name)]);
        const missed = since === undefined ? undefined : missedSince(cron, since, this.now());
        if (missed) this.fire(schedule, missed, true);
      }
      this.save(schedule);
      this.arm(schedule, this.now());
    }
  }

  /** Sets the timer for the next due time strictly after `from`. */
  private arm(schedule: Schedule, from: number): void {
    clearTimeout(schedule.timer);
    const next = schedule.cron.nextRun(new Date(from));
    const changed = next?.getTime() !== schedule.nextDue?.getTime();
    schedule.nextDue = next;
    if (changed || next === null)
      this.ctx?.emit('trigger', schedule.loop, {
        type: 'schedule.next',
        nextDue: next ? next.toISOString() : null,
      });
    if (next === null) return;
    this.wait(schedule, next);
  }

  private wait(schedule: Schedule, due: Date): void {
    const delay = Math.min(Math.max(due.getTime() - this.now(), 0), MAX_TIMER_MS);
    schedule.timer = setTimeout(() => {
      if (this.stopped || this.schedules.get(schedule.loop) !== schedule) return;
      const now = this.now();
      // A far due time is reached in steps; a timer that woke early waits the rest.
      if (now < due.getTime()) return this.wait(schedule, due);
      this.fire(schedule, due, false);
      this.save(schedule);
      // From now, not from the due time: a clock that jumped fires once, never a burst of past times.
      this.arm(schedule, Math.max(now, due.getTime()));
    }, delay);
    schedule.timer.unref?.();
  }

  private fire(schedule: Schedule, due: Date, catchUp: boolean): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const zone = schedule.timezone ? ` ${schedule.timezone}` : '';
    const when = formatIn(due, schedule.timezone);
    const context: TriggerContext = {
      kind: 'cron',
      detail: catchUp
        ? `cron ${schedule.expression}${zone}: catching up the run due ${when}, missed while loops was not running`
        : `cron ${schedule.expression}${zone} (due ${when})`,
      at: due.toISOString(),
    };
    schedule.state.lastDue = due.toISOString();
    try {
      void fireEvent(ctx, schedule.loop, context, {
        overlap: schedule.overlap,
        label: 'cron',
        ...(this.triage ? { triage: this.triage } : {}),
      });
    } catch (error) {
      ctx.reportError(new Error(`cron for ${schedule.loop}: ${messageOf(error)}`));
    }
  }

  private save(schedule: Schedule): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const file = triggerFile(ctx.paths, schedule.loop, 'cron');
    const state = { ...schedule.state };
    this.writes?.push(() => writeTriggerState(file, state));
  }
}

function sameSchedule(schedule: Schedule, def: LoopDefinition): boolean {
  return schedule.expression === def.trigger.cron && schedule.timezone === def.trigger.timezone;
}

/** The latest due time in (since, now], or undefined when none passed. */
export function missedSince(cron: Cron, since: string, now: number): Date | undefined {
  const first = cron.nextRun(new Date(since));
  if (first === null || first.getTime() > now) return undefined;
  return cron.previousRuns(1, new Date(now + 1))[0] ?? first;
}

function latest(times: Array<string | undefined>): string | undefined {
  let best: string | undefined;
  for (const t of times) {
    if (t === undefined || Number.isNaN(Date.parse(t))) continue;
    if (best === undefined || Date.parse(t) > Date.parse(best)) best = t;
  }
  return best;
}

/** Each cron loop's last recorded run start, from the index (read only). */
async function lastRunStarts(ctx: JobContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!existsSync(ctx.paths.index)) return out;
  try {
    const index = await StateIndex.open(ctx.paths.index);
    for (const def of ctx.definitions()) {
      const last = index.lastRun(def.name);
      if (last) out.set(def.name, last.startedAt);
    }
  } catch (error) {
    ctx.reportError(error);
  }
  return out;
}

/** "2026-12-02 09:00" in the schedule's zone (the machine's when none is set). */
export function formatIn(date: Date, timezone: string | undefined): string {
  const text = new Intl.DateTimeFormat('sv-SE', {
    ...(timezone === undefined ? {} : { timeZone: timezone }),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
  return text;
}

/** When a loop's schedule is next due after `now`, for readers with no cron job running (loops list). */
export function nextDueOf(def: LoopDefinition, now = Date.now()): Date | null {
  if (def.trigger.cron === undefined) return null;
  try {
    const cron = new Cron(def.trigger.cron, {
      mode: '5-part',
      ...(def.trigger.timezone === undefined ? {} : { timezone: def.trigger.timezone }),
    });
    return cron.nextRun(new Date(now));
  } catch {
    return null;
  }
}

/** "cron 0 9 * * * (next 2026-12-03 09:00 UTC)": the schedule's line with its next due time. */
export function describeNextDue(def: LoopDefinition, now = Date.now()): string {
  const next = nextDueOf(def, now);
  if (next === null) return '';
  return `next ${formatIn(next, def.trigger.timezone)}${def.trigger.timezone ? ` ${def.trigger.timezone}` : ''}`;
}
