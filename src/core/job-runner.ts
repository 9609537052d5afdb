/**
 * Runs the supervisor's jobs (core/jobs.ts): starts each with its context, asks them what they add to a
 * loop's line and whether a start must wait, and stops them all once on shutdown. A job that throws is
 * reported and the others go on.
 */
import type { LoopInfo } from './control.js';
import type { JobContext, SupervisorJob } from './jobs.js';

export class JobRunner {
  private readonly jobs: SupervisorJob[] = [];
  private readonly abort = new AbortController();

  constructor(private readonly context: (signal: AbortSignal) => JobContext) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async add(job: SupervisorJob): Promise<void> {
    const ctx = this.context(this.abort.signal);
    if (this.abort.signal.aborted) throw new Error(`cannot start ${job.name}: loops is shutting down`);
    this.jobs.push(job);
    try {
      await job.start(ctx);
    } catch (err) {
      this.jobs.splice(this.jobs.indexOf(job), 1);
      throw err;
    }
  }

  info(loop: string): Partial<Pick<LoopInfo, 'nextDue' | 'goal' | 'waiting'>> {
    const out: Partial<Pick<LoopInfo, 'nextDue' | 'goal' | 'waiting'>> = {};
    for (const job of this.jobs) {
      const part = this.guard(job, () => job.info?.(loop));
      if (part) Object.assign(out, part);
    }
    return out;
  }

  /** The first job's reason to hold a start back, or undefined. */
  holdStart(loop: string): string | undefined {
    for (const job of this.jobs) {
      const held = this.guard(job, () => job.holdStart?.(loop));
      if (held !== undefined) return held;
    }
    return undefined;
  }

  async stopAll(report: (error: unknown) => void): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    const jobs = this.jobs.splice(0);
    const results = await Promise.allSettled(jobs.map(async (job) => job.stop()));
    for (const [i, r] of results.entries())
      if (r.status === 'rejected')
        report(new Error(`${jobs[i]?.name ?? 'a job'} did not stop cleanly: ${String(r.reason)}`));
  }

  private guard<T>(job: SupervisorJob, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.context(this.abort.signal).reportError(
        new Error(`${job.name}: ${err instanceof Error ? err.message : String(err)}`),
      );
      return undefined;
    }
  }
}
