/**
 * The fleet, as the commands that open a supervisor use it: loops/loops.yaml read once, the options
 * it gives the supervisor (runs at once, the call gate) and the jobs to add once it is open (the
 * fleet gate itself, outbound notifications).
 *
 *   const fleet = await fleetJobs(repo, env);
 *   const supervisor = await Supervisor.open(repo, { ...fleet.options, ... });
 *   await fleet.addTo(supervisor);
 */
import type { SupervisorJob } from '../core/jobs.js';
import type { SupervisorOptions } from '../core/supervisor.js';
import { OutboundNotifier, type OutboundOptions } from '../notify/outbound.js';
import { requireFleetFile, type FleetFile } from './file.js';
import { FleetGate, type FleetGateOptions } from './gate.js';

export { FleetGate } from './gate.js';
export { FLEET_FILE, loadFleetFile, FleetFileError, type FleetFile } from './file.js';

export interface Fleet {
  file: FleetFile;
  gate: FleetGate;
  outbound: OutboundNotifier;
  /** Spread into SupervisorOptions: the limit on runs at once and the call gate (when capped). */
  options: Pick<SupervisorOptions, 'maxConcurrent' | 'callGate'>;
  /** The jobs to add to the supervisor once it is open. */
  jobs: SupervisorJob[];
  addTo(supervisor: { addJob(job: SupervisorJob): Promise<void> }): Promise<void>;
}

export interface FleetTuning {
  gate?: FleetGateOptions;
  outbound?: Omit<OutboundOptions, 'urlEnv' | 'on'>;
}

/** Reads loops.yaml (a FleetFileError when it has problems) and makes the fleet's gate and jobs. */
export async function fleetJobs(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
  tuning: FleetTuning = {},
): Promise<Fleet> {
  const file = await requireFleetFile(repoRoot);
  return fleetFrom(file, env, tuning);
}

export function fleetFrom(file: FleetFile, _env: NodeJS.ProcessEnv, tuning: FleetTuning = {}): Fleet {
  const gate = new FleetGate(file.budget ?? {}, tuning.gate);
  const outbound = new OutboundNotifier({
    ...tuning.outbound,
    urlEnv: file.notify.url_env,
    on: file.notify.on,
  });
  // The gate only costs a look-up per call, but with no caps it is left out of the call path entirely.
  const jobs: SupervisorJob[] = gate.capped ? [gate, outbound] : [outbound];
  return {
    file,
    gate,
    outbound,
    options: {
      ...(file.max_concurrent === undefined ? {} : { maxConcurrent: file.max_concurrent }),
      ...(gate.capped ? { callGate: gate } : {}),
    },
    jobs,
    async addTo(supervisor) {
      for (const job of jobs) await supervisor.addJob(job);
    },
  };
}

/** Only the supervisor options of loops.yaml (runs at once, the call gate), for a caller that adds no jobs. */
export async function fleetOptions(repoRoot: string): Promise<Pick<SupervisorOptions, 'maxConcurrent'>> {
  const file = await requireFleetFile(repoRoot);
  return file.max_concurrent === undefined ? {} : { maxConcurrent: file.max_concurrent };
}
