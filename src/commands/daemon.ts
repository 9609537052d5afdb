/**
 * `loops daemon`: owns the state folder with no screen. It serves the supervisor's port on the
 * folder's socket (screens attach, `loops run` hands runs to it, `loops stop|status|...` control it),
 * runs the owner's jobs (reload on edit, and the triggers), and logs one line per event worth one to
 * stdout. SIGTERM or SIGINT stop it cleanly: runs in flight end `stopped`, state is saved, the socket
 * and the lock are removed, exit 0.
 *
 * Approvals: the daemon is attended (a person may answer from an attached screen or with
 * `loops approve ID`), so an asked call waits up to its loop's `approval.timeout` and is then denied.
 */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { StateLockCompromisedError } from '../state/lock.js';
import { daemonLogLine } from '../daemon/log.js';
import { ownerName } from '../daemon/protocol.js';
import type { CommonOptions } from './index.js';
import { reportStartupError } from './errors.js';
import { openPort, type LocalOwner } from './port.js';
import { fleetJobs } from '../fleet/index.js';

/** After a second signal, how long the runs have to record their end before the daemon exits anyway. */
const FORCE_GRACE_MS = 3_000;

export async function daemon(args: string[], options: CommonOptions): Promise<number> {
  if (args.length > 0) {
    process.stderr.write('loops daemon: takes no arguments (it runs every loop of the repository)\n');
    return EXIT_BAD_DEFINITION;
  }
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const now = (): string => new Date().toISOString();
  let failed = false;
  let stop: ((why: string) => void) | undefined;
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  let owner: LocalOwner;
  try {
    // loops.yaml: the fleet's caps gate every call from the first run on, and its notifications go out.
    const fleet = await fleetJobs(options.repo, process.env);
    const opened = await openPort(options.repo, {
      owner: 'daemon',
      jobs: fleet.jobs,
      ...(fleet.file.webhooks ? { webhookPort: fleet.file.webhooks.port } : {}),
      supervisor: {
        ...fleet.options,
        attended: true,
        onError: (err) => {
          out(`${now()} error: ${err instanceof Error ? err.message : String(err)}`);
          if (err instanceof StateLockCompromisedError) {
            failed = true;
            stop?.('the lock on state/ was lost');
          }
        },
      },
      connect: { client: 'daemon' },
    });
    if (opened?.kind === 'remote') {
      opened.port.close();
      process.stderr.write(
        `loops daemon: loops (pid ${opened.port.owner.pid}, a ${ownerName(opened.port.owner.owner)}) already owns state/ here; ` +
          'loops status shows its runs\n',
      );
      return EXIT_BAD_DEFINITION;
    }
    if (!opened) throw new Error('loops could not open the state folder');
    owner = opened;
  } catch (err) {
    return reportStartupError(err);
  }
  const unsubscribe = owner.supervisor.subscribe((event) => {
    const line = daemonLogLine(event);
    if (line) out(line);
  });
  for (const run of owner.supervisor.recovered)
    out(`${now()} ${run.loop}: run ${run.run} was interrupted by the last loops; recorded as failed`);
  out(
    `${now()} loops daemon (pid ${process.pid}) owns state/ in ${owner.supervisor.repoRoot}; ` +
      `${owner.supervisor.loops().length} loop(s); listening on ${owner.server.path}`,
  );
  const onSignal = (signal: NodeJS.Signals): void => {
    stop?.(signal);
    // A second signal forces the exit, but leaves the runs a moment to record their end.
    process.once(signal, () => {
      out(`${now()} forcing the exit once the runs have recorded their end`);
      setTimeout(() => process.exit(130), FORCE_GRACE_MS).unref();
      process.once(signal, () => process.exit(130));
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const why = await stopped;
  out(`${now()} stopping (${why}): runs in flight end stopped`);
  try {
    await owner.close(`the daemon was stopped (${why})`);
  } finally {
    unsubscribe();
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
  out(`${now()} stopped; state saved, socket and lock removed`);
  return failed ? 1 : 0;
}
