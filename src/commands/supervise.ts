/** `loops`: the supervisor screen over every loop in the repository. */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import type { Supervisor, SupervisorOptions } from '../core/supervisor.js';
import type { RemoteSupervisor } from '../daemon/client.js';
import { openPort, type LocalOwner } from './port.js';
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
  let owner: LocalOwner;
  try {
    fleet = await fleetJobs(options.repo, extra.env ?? process.env);
    // A person watches the screen: approvals are asked there, and a stall's pause waits for them.
    const opened = await openPort(options.repo, {
      owner: 'screen',
      supervisor: { attended: true, ...fleet.options, ...extra, onError: (err) => errors.push(err) },
      connect: { client: 'screen', subscribe: true, history: true },
      jobs: fleet.jobs,
      ...(fleet.file.webhooks ? { webhookPort: fleet.file.webhooks.port } : {}),
    });
    if (opened?.kind === 'remote') return await attachScreen(opened.port, options.repo);
    if (!opened) throw new Error('loops could not open the state folder');
    owner = opened;
    supervisor = opened.supervisor;
  } catch (err) {
    return reportStartupError(err);
  }
  try {
    const { runTui } = await import('../ui/run-tui.js');
    const { gitReviewPort } = await import('./review-port.js');
    const shown = runTui(supervisor, { review: gitReviewPort(supervisor.repoRoot) });
    if (startAll)
      for (const loop of supervisor.loops())
        supervisor.send({ type: 'start', loop: loop.name, trigger: 'demo' });
    await shown;
  } finally {
    await owner.close('loops was closed');
  }
  for (const err of errors)
    process.stderr.write(`loops: ${err instanceof Error ? err.message : String(err)}\n`);
  return errors.length ? 1 : 0;
}

/** The screen of a supervisor in another process: quitting it leaves that process's runs running. */
async function attachScreen(port: RemoteSupervisor, repoRoot: string): Promise<number> {
  const { runTui } = await import('../ui/run-tui.js');
  const { gitReviewPort } = await import('./review-port.js');
  let gone: string | undefined;
  port.onClose((reason) => {
    gone = reason;
  });
  try {
    await runTui(port, { review: gitReviewPort(repoRoot) });
  } finally {
    port.close();
  }
  if (gone !== undefined && gone !== 'closed') {
    process.stderr.write(`loops: ${gone}\n`);
    return 1;
  }
  const running = port.snapshot().inFlight;
  process.stderr.write(
    `loops: left ${running} run(s) running in the ${port.owner.owner} (pid ${port.owner.pid}); loops status shows them\n`,
  );
  return 0;
}
