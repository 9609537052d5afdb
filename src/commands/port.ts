/**
 * One process owns a state folder; every other `loops` talks to it. `openPort` returns either a local
 * supervisor that this process now owns (serving its port on the folder's socket, with the owner's
 * jobs) or a connection to the process that owns it. A dead owner's lock and socket are taken over at
 * once (state/lock.ts compares host, pid, start time and boot; the server replaces the socket).
 */
import { statePaths } from '../state/paths.js';
import { readHolder, StateLockedError } from '../state/lock.js';
import { Supervisor, type SupervisorOptions } from '../core/supervisor.js';
import { findOwner, RemoteSupervisor, type ConnectOptions } from '../daemon/client.js';
import { ownerJobs } from '../daemon/jobs.js';
import type { SupervisorJob } from '../core/jobs.js';
import { serveOwner, type OwnerServer } from '../daemon/server.js';
import type { OwnerKind } from '../daemon/protocol.js';

export interface LocalOwner {
  kind: 'local';
  supervisor: Supervisor;
  server: OwnerServer;
  /** Stops the runs (they end `stopped`), the jobs, then says bye to clients and removes the socket. */
  close(reason: string): Promise<void>;
}

export interface RemoteOwner {
  kind: 'remote';
  port: RemoteSupervisor;
}

export interface OpenPortOptions {
  owner: OwnerKind;
  supervisor: SupervisorOptions;
  connect: ConnectOptions;
  /** Only attach (never open the folder here): control commands. */
  attachOnly?: boolean;
  /** More jobs for an owner opened here (the fleet's gate and notifications), added after its own. */
  jobs?: SupervisorJob[];
  /** loops.yaml's webhook port, for the webhook server. */
  webhookPort?: number;
}

/** How long a start waits for an owner that holds the lock but does not serve yet (it is starting). */
const OWNER_START_WAIT_MS = 3000;

export async function openPort(
  repoRoot: string,
  options: OpenPortOptions,
): Promise<LocalOwner | RemoteOwner | undefined> {
  const root = statePaths(repoRoot).root;
  const deadline = Date.now() + OWNER_START_WAIT_MS;
  for (;;) {
    const owner = await findOwner(root, options.supervisor.env ?? process.env);
    if (owner.state === 'served')
      return { kind: 'remote', port: await RemoteSupervisor.connect(owner.socket, options.connect) };
    if (owner.state === 'none') {
      if (options.attachOnly) return undefined;
      try {
        return await openOwner(repoRoot, options.owner, options.supervisor, {
          jobs: options.jobs ?? [],
          ...(options.webhookPort === undefined ? {} : { webhookPort: options.webhookPort }),
        });
      } catch (error) {
        // Another loops took the folder between the look and the lock: attach to it once it serves.
        if (!(error instanceof StateLockedError) || Date.now() > deadline) throw error;
      }
    } else if (Date.now() > deadline) {
      if (options.attachOnly) return undefined;
      throw new StateLockedError(root, await readHolder(root));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Opens the folder here: the supervisor, its socket, and the owner's jobs (reload on edit, triggers). */
export async function openOwner(
  repoRoot: string,
  owner: OwnerKind,
  options: SupervisorOptions,
  more: { jobs?: SupervisorJob[]; webhookPort?: number; ownerJobs?: boolean } = {},
): Promise<LocalOwner> {
  const supervisor = await Supervisor.open(repoRoot, options);
  let server: OwnerServer;
  try {
    server = await serveOwner({
      port: supervisor,
      stateRoot: supervisor.paths.root,
      repoRoot: supervisor.repoRoot,
      owner,
      attended: options.attended ?? false,
      ...(options.env ? { env: options.env } : {}),
      continueRun: async (command, id) =>
        (await import('./resume.js')).continueInOwner(supervisor, command, id, (err) =>
          (options.onError ?? (() => undefined))(err),
        ),
    });
  } catch (error) {
    await supervisor.shutdown('could not serve the state folder');
    throw error;
  }
  try {
    const deps = {
      reload: () => supervisor.reload(),
      ...(options.callGate ? { callGate: options.callGate } : {}),
      ...(more.webhookPort === undefined ? {} : { webhookPort: more.webhookPort }),
    };
    // A headless `loops run` serves the folder but runs no triggers: it ends with its run.
    const own = more.ownerJobs === false ? [] : await ownerJobs(deps);
    for (const job of [...own, ...(more.jobs ?? [])]) await supervisor.addJob(job);
  } catch (error) {
    await supervisor.shutdown('a job could not start');
    await server.close('a job could not start');
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    kind: 'local',
    supervisor,
    server,
    close(reason) {
      closed ??= (async () => {
        try {
          await supervisor.shutdown(reason);
        } finally {
          await server.close(reason);
        }
      })();
      return closed;
    },
  };
}
