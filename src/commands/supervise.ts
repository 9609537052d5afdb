/** `loops`: the supervisor screen over every loop in the repository. */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { Supervisor, type SupervisorOptions } from '../core/supervisor.js';
import type { CommonOptions } from './index.js';
import { reportStartupError } from './errors.js';
import { fleetJobs, type Fleet } from '../fleet/index.js';

export async function supervise(
  options: CommonOptions,
  extra: SupervisorOptions = {},
  startAll = false,
): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      'loops: the supervisor needs a terminal; for scripts use loops run NAME --headless\n',
    );
    return EXIT_BAD_DEFINITION;
  }
  const errors: unknown[] = [];
  let supervisor: Supervisor;
  let fleet: Fleet;
  try {
    fleet = await fleetJobs(options.repo, extra.env ?? process.env);
    // A person watches the screen: approvals are asked there, and a stall's pause waits for them.
    supervisor = await Supervisor.open(options.repo, {
      attended: true,
      ...fleet.options,
      ...extra,
      onError: (err) => errors.push(err),
    });
  } catch (err) {
    return reportStartupError(err);
  }
  try {
    await fleet.addTo(supervisor);
    const { runTui } = await import('../ui/run-tui.js');
    const { gitReviewPort } = await import('./review-port.js');
    const shown = runTui(supervisor, { review: gitReviewPort(supervisor.repoRoot) });
    // Schedules, file watches and goals fire while the screen is open (the first frame is not held up).
    void import('../triggers/index.js').then((t) => t.startTriggers(supervisor, (err) => errors.push(err)));
    if (startAll)
      for (const loop of supervisor.loops())
        supervisor.send({ type: 'start', loop: loop.name, trigger: 'demo' });
    await shown;
  } finally {
    await supervisor.shutdown('loops was closed');
  }
  for (const err of errors)
    process.stderr.write(`loops: ${err instanceof Error ? err.message : String(err)}\n`);
  return errors.length ? 1 : 0;
}
