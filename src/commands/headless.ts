/**
 * What every headless command that runs one loop shares (`loops run`, `loops resume`): opening the
 * supervisor with nobody to ask and the fleet's caps in force, the loop's problems printed when its
 * LOOP.md is invalid, progress lines on stderr, and Ctrl-C / SIGTERM as a graceful stop.
 */
import { formatProblem } from '../core/definition/problems.js';
import { loadLoop } from '../core/definition/load.js';
import { describeEventLine } from '../core/describe.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import type { RunResult } from '../core/run/run.js';
import type { Supervisor } from '../core/supervisor.js';
import { fleetJobs, type Fleet } from '../fleet/index.js';
import { reportStartupError } from './errors.js';
import { openOwner } from './port.js';

/** After a second Ctrl-C, how long the run has to record its end before loops exits anyway. */
const FORCE_GRACE_MS = 3_000;

export interface Headless {
  supervisor: Supervisor;
  fleet: Fleet;
  /** Ends the run's supervisor (runs still in flight, handed ones too, end stopped), then its socket. */
  close(reason?: string): Promise<void>;
}

/**
 * The supervisor for one headless run, or the exit status when it cannot open (said on stderr). It
 * owns the state folder and serves its socket while the run goes on, so `loops status`, a screen or
 * another `loops run` attach to it instead of being refused; it runs no triggers.
 */
export async function openHeadless(repo: string): Promise<Headless | number> {
  try {
    const fleet = await fleetJobs(repo, process.env);
    const owner = await openOwner(
      repo,
      'run',
      {
        ...fleet.options,
        // Nobody to ask: approvals are denied at once and a stall's pause ends the run stalled.
        attended: false,
        onError: (err) => process.stderr.write(`loops: ${String(err)}\n`),
      },
      { ownerJobs: false },
    );
    return {
      supervisor: owner.supervisor,
      fleet,
      close: (reason = 'the loops run that owned state/ ended') => owner.close(reason),
    };
  } catch (err) {
    return reportStartupError(err);
  }
}

/** Undefined when the loop can run; otherwise its problems are printed and the exit status returned. */
export async function loopProblems(supervisor: Supervisor, name: string): Promise<number | undefined> {
  if (supervisor.definition(name)) return undefined;
  const loaded = await loadLoop(supervisor.repoRoot, name);
  if (loaded.ok) throw new Error(`loop "${name}" could not be loaded`);
  for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
  return EXIT_BAD_DEFINITION;
}

/**
 * Runs `start` with progress on stderr and the fleet's jobs added, stopping the loop gracefully on
 * the first Ctrl-C or SIGTERM. A second Ctrl-C forces the exit, but leaves the run a moment to record
 * its end (run.ended, its summary): a stop is honoured at once in every state, so that is normally
 * all it takes; a third exits at once.
 */
export async function runAttendedByNobody(
  { supervisor, fleet }: Headless,
  name: string,
  start: () => Promise<RunResult>,
): Promise<RunResult> {
  supervisor.subscribe((event) => {
    const line = describeEventLine(event);
    if (line) process.stderr.write(`[${event.loop || 'loops'} #${event.iteration}] ${line}\n`);
  });
  // After the subscription: a fleet cap already reached at start is printed.
  await fleet.addTo(supervisor);
  const onSignal = (): void => {
    process.stderr.write('\nloops: stopping the run (Ctrl-C again to force)…\n');
    supervisor.send({ type: 'stop', loop: name });
    process.once('SIGINT', () => {
      process.stderr.write('loops: forcing the exit once the run has recorded its end\n');
      setTimeout(() => process.exit(130), FORCE_GRACE_MS).unref();
      process.once('SIGINT', () => process.exit(130));
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await start();
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
