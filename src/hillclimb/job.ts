/**
 * `hillclimb: { every: N }`: a job above the run (core/jobs.ts) that counts each loop's finished runs
 * and, after every N of them, starts one hill-climb step for that loop in the background (never two at
 * once for one loop). Its progress and the proposal it files arrive as `proposal.changed` events on the
 * `hillclimb` stream. The count is kept while the supervisor runs (a restart starts it again at zero).
 * The screen and the daemon register it: `supervisor.addJob(hillclimbJob())`.
 */
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import { openProposals, type OpenedProposals, type ProposalsOptions } from './port.js';

export interface HillclimbJob extends SupervisorJob {
  /** Resolves when the analyses it started have ended (tests, shutdown). */
  settled(): Promise<void>;
}

export function hillclimbJob(
  options: Omit<ProposalsOptions, 'emit' | 'reportError' | 'signal'> = {},
): HillclimbJob {
  const counts = new Map<string, number>();
  let port: OpenedProposals | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'hill-climbing',
    start(ctx: JobContext) {
      const opened = openProposals(ctx.repoRoot, {
        ...options,
        env: options.env ?? ctx.env,
        signal: ctx.signal,
        emit: (loop, body) => ctx.emit('hillclimb', loop, body),
        reportError: (error) => ctx.reportError(error),
      });
      port = opened;
      unsubscribe = ctx.subscribe((event) => {
        if (event.type !== 'run.ended' || (event.source ?? 'run') !== 'run') return;
        const every = ctx.definitions().find((d) => d.name === event.loop)?.hillclimb?.every;
        if (every === undefined) return;
        const count = (counts.get(event.loop) ?? 0) + 1;
        counts.set(event.loop, count % every);
        if (count % every !== 0) return;
        opened.improve(event.loop).then(
          (answer) => {
            if (!answer.ok)
              ctx.emit('hillclimb', event.loop, { type: 'proposal.failed', id: '', reason: answer.reason });
          },
          (error: unknown) => ctx.reportError(error),
        );
      });
    },
    async stop() {
      unsubscribe?.();
      await port?.settled();
    },
    async settled() {
      await port?.settled();
    },
  };
}
