/**
 * The jobs that start runs with no person pressing go. Whatever serves runs with triggers (the
 * screen, `loops daemon`) adds these to its supervisor; `loops run` does not (it runs one loop once).
 */
import type { SupervisorJob } from '../core/jobs.js';
import type { TriageOptions } from './triage.js';
import { CronJob } from './cron.js';
import { GoalJob } from './goal.js';
import { WatchJob } from './watch.js';
import { TriggerLogJob } from './trigger-log.js';

export { CronJob } from './cron.js';
export { GoalJob } from './goal.js';
export { WatchJob } from './watch.js';
export { TriggerLogJob, triggerLogFile } from './trigger-log.js';
export { replayContext, replayStart, type ReplayableRun } from './replay.js';

/** `triage`: how cron, watch and webhook events are triaged (the fleet's call gate). */
export function triggerJobs(options: { triage?: TriageOptions } = {}): SupervisorJob[] {
  const triage = options.triage ? { triage: options.triage } : {};
  return [new CronJob(triage), new WatchJob(triage), new GoalJob(), new TriggerLogJob()];
}
