/**
 * The jobs the owner of a state folder runs (the daemon, and the screen when it owns the folder).
 * Adding one is one line: a factory that gets the supervisor's reload and returns its jobs. The
 * triggers (cron, watch, goal, webhooks) and the fleet join here as their modules land, e.g.
 *   async () => (await import('../triggers/index.js')).triggerJobs(),
 */
import type { SupervisorJob } from '../core/jobs.js';
import { reloadJob } from './reload-job.js';

export interface OwnerJobDeps {
  /** The supervisor's reload (it re-reads LOOP.md files and emits `loops.changed`). */
  reload: () => Promise<unknown>;
}

export type JobFactory = (deps: OwnerJobDeps) => SupervisorJob[] | Promise<SupervisorJob[]>;

export const JOB_FACTORIES: readonly JobFactory[] = [(deps) => [reloadJob(deps.reload)]];

export async function ownerJobs(deps: OwnerJobDeps, factories = JOB_FACTORIES): Promise<SupervisorJob[]> {
  const jobs: SupervisorJob[] = [];
  for (const factory of factories) jobs.push(...(await factory(deps)));
  return jobs;
}
