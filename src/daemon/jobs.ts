/**
 * The jobs the owner of a state folder runs (the daemon, and the screen when it owns the folder):
 * reload on edit, the triggers (cron, watch, goal, webhooks) and hill-climbing after every N runs.
 * Adding one is one line: a factory that gets the owner's deps and returns its jobs. The fleet's jobs
 * come with the supervisor's options (its call gate must be there before the first run), so the
 * commands add them beside these (commands/port.ts `jobs`).
 */
import type { SupervisorJob } from '../core/jobs.js';
import type { CallGate } from '../core/budget/call-gate.js';
import type { LoopEvent } from '../core/events.js';
import { FleetGate } from '../fleet/gate.js';
import type { TriageOptions } from '../triggers/triage.js';
import { reloadJob } from './reload-job.js';

export interface OwnerJobDeps {
  /** The supervisor's reload (it re-reads LOOP.md files and emits `loops.changed`). */
  reload: () => Promise<unknown>;
  /** loops.yaml's `webhooks.port`, when it names one. */
  webhookPort?: number;
  /** The fleet's caps: calls outside runs (a webhook's triage) wait at them like a run's calls. */
  callGate?: CallGate;
}

export type JobFactory = (deps: OwnerJobDeps) => SupervisorJob[] | Promise<SupervisorJob[]>;

/**
 * How the triggers' triage calls meet the fleet's caps: they wait at its gate like a run's calls, and
 * their dollars are counted by it as they are billed (they are on no run's event stream).
 */
function triageOptions(callGate: CallGate | undefined): { triage?: TriageOptions } {
  return callGate ? { triage: gateHooks(callGate) } : {};
}

/** A call outside runs waits at the gate, and the fleet's gate counts its dollars as it is billed. */
function gateHooks(callGate: CallGate | undefined): {
  callGate?: CallGate;
  countSpend?: (event: LoopEvent) => void;
} {
  if (!callGate) return {};
  const gate = callGate instanceof FleetGate ? callGate : undefined;
  return { callGate, ...(gate ? { countSpend: (event: LoopEvent) => gate.count(event) } : {}) };
}

export const JOB_FACTORIES: readonly JobFactory[] = [
  (deps) => [reloadJob(deps.reload)],
  async (deps) => (await import('../triggers/index.js')).triggerJobs(triageOptions(deps.callGate)),
  async (deps) => [
    (await import('../triggers/webhook.js')).webhookJob({
      ...(deps.webhookPort === undefined ? {} : { port: deps.webhookPort }),
      ...triageOptions(deps.callGate),
    }),
  ],
  async (deps) => [(await import('../hillclimb/job.js')).hillclimbJob(gateHooks(deps.callGate))],
];

export async function ownerJobs(deps: OwnerJobDeps, factories = JOB_FACTORIES): Promise<SupervisorJob[]> {
  const jobs: SupervisorJob[] = [];
  for (const factory of factories) jobs.push(...(await factory(deps)));
  return jobs;
}
