/**
 * When hill-climbing runs by itself, as a job above the run (core/jobs.ts):
 *   - `hillclimb: { every: N }`: it counts each loop's finished runs and, after every N of them,
 *     starts one hill-climb step for that loop in the background (the count is kept while the
 *     supervisor runs: a restart starts it again at zero);
 *   - `hillclimb: { cron: "0 3 * * 1" }`: on a schedule (croner, five fields, the machine's time
 *     zone); a time that passed while nothing was running is not replayed.
 * Never two steps at once for one loop (the port refuses a second). Progress and the proposal arrive
 * as `proposal.changed` events on the `hillclimb` stream, a step that made none as `proposal.failed`.
 * The screen and the daemon register it: `supervisor.addJob(hillclimbJob())`.
 */
import { Cron } from 'croner';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import { openProposals, type OpenedProposals, type ProposalsOptions } from './port.js';

export interface HillclimbJob extends SupervisorJob {
  /** Resolves when the analyses it started have ended (tests, shutdown). */
  settled(): Promise<void>;
}

/** A running schedule; `stop` ends it. */
export interface Scheduled {
  stop(): void;
}

/** Calls `fire` at each time the expression names; croner by default (tests pass their own). */
export type Scheduler = (expression: string, fire: () => void) => Scheduled;

export const cronScheduler: Scheduler = (expression, fire) =>
  new Cron(expression, { mode: '5-part', catch: true, protect: true }, fire);

export function hillclimbJob(
  options: Omit<ProposalsOptions, 'emit' | 'reportError' | 'signal'> & { schedule?: Scheduler } = {},
): HillclimbJob {
  const { schedule = cronScheduler, ...proposalOptions } = options;
  const counts = new Map<string, number>();
  const schedules = new Map<string, { expression: string; scheduled: Scheduled }>();
  let port: OpenedProposals | undefined;
  let unsubscribe: (() => void) | undefined;

  const step = (ctx: JobContext, opened: OpenedProposals, loop: string): void => {
    opened.improve(loop).then(
      (answer) => {
        if (!answer.ok)
          ctx.emit('hillclimb', loop, { type: 'proposal.failed', id: '', reason: answer.reason });
      },
      (error: unknown) => ctx.reportError(error),
    );
  };

  /** One schedule per loop with `hillclimb.cron`, as the definitions are now. */
  const reschedule = (ctx: JobContext, opened: OpenedProposals): void => {
    const wanted = new Map<string, string>();
    for (const def of ctx.definitions())
      if (def.hillclimb?.cron !== undefined) wanted.set(def.name, def.hillclimb.cron);
    for (const [loop, entry] of schedules) {
      if (wanted.get(loop) === entry.expression) continue;
      entry.scheduled.stop();
      schedules.delete(loop);
    }
    for (const [loop, expression] of wanted) {
      if (schedules.has(loop) || ctx.signal.aborted) continue;
      schedules.set(loop, { expression, scheduled: schedule(expression, () => step(ctx, opened, loop)) });
    }
  };

  return {
    name: 'hill-climbing',
    start(ctx: JobContext) {
      const opened = openProposals(ctx.repoRoot, {
        ...proposalOptions,
        env: proposalOptions.env ?? ctx.env,
        signal: ctx.signal,
        emit: (loop, body) => ctx.emit('hillclimb', loop, body),
        reportError: (error) => ctx.reportError(error),
      });
      port = opened;
      reschedule(ctx, opened);
      unsubscribe = ctx.subscribe((event) => {
        if (event.type === 'loops.changed') return reschedule(ctx, opened);
        if (event.type !== 'run.ended' || (event.source ?? 'run') !== 'run') return;
        const every = ctx.definitions().find((d) => d.name === event.loop)?.hillclimb?.every;
        if (every === undefined) return;
        const count = (counts.get(event.loop) ?? 0) + 1;
        counts.set(event.loop, count % every);
        if (count % every !== 0) return;
        step(ctx, opened, event.loop);
      });
    },
    async stop() {
      unsubscribe?.();
      for (const { scheduled } of schedules.values()) scheduled.stop();
      schedules.clear();
      await port?.settled();
    },
    async settled() {
      await port?.settled();
    },
  };
}
