/**
 * `loops`: the supervisor screen over every loop in the repository. The first frame comes before the
 * engine has opened (state, worktrees, recovery): the screen draws an "opening" state through a port
 * that takes the real one once it is there: the supervisor opened here (this screen owns the state
 * folder and its jobs), or the socket of the loops that already owns it (a daemon, another screen).
 */
import { EXIT_BAD_DEFINITION, type LoopEventBody } from '../core/events.js';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import type { SupervisorOptions } from '../core/supervisor.js';
import type { ProposalsPort } from '../core/proposals.js';
import type { OpenedProposals, ProposalsOptions } from '../hillclimb/port.js';
import type { RemoteSupervisor } from '../daemon/client.js';
import type { CommonOptions } from './index.js';
import { reportStartupError } from './errors.js';
import type { ReviewPort } from '../ui/review-port.js';
import type { LocalOwner, RemoteOwner } from './port.js';

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
  const { runTui } = await import('../ui/start-tui.js');
  const { OpeningPort } = await import('../ui/opening-port.js');
  const { gitReviewPort } = await import('./review-port.js');
  const port = new OpeningPort();
  const failed = new AbortController();
  const repoRoot = new Deferred<string>();
  const review = lazyReview(repoRoot.promise.then((root) => gitReviewPort(root)));
  const spendHistory = {
    read: async () => {
      const { ledgerSpendHistory } = await import('./spend-history-port.js');
      return ledgerSpendHistory(await repoRoot.promise).read();
    },
  };
  // Its progress (proposal.changed) goes out on the supervisor's hillclimb stream when the folder is ours.
  const emitter = new EmitJob();
  const proposals = lazyProposals(
    repoRoot.promise.then((root) =>
      openScreenProposals(root, extra, {
        emit: (loop, body) => emitter.emit(loop, body),
        reportError: (err) => errors.push(err),
      }),
    ),
  );
  // render() draws the first frame before it returns; only then is the engine loaded and opened.
  const shown = runTui(port, { review, spendHistory, proposals, signal: failed.signal });
  let opened: LocalOwner | RemoteOwner | undefined;
  try {
    try {
      opened = await openHere(options, extra, errors);
    } catch (err) {
      failed.abort();
      await shown;
      return reportStartupError(err);
    }
    if (opened.kind === 'remote') {
      repoRoot.resolve(options.repo);
      port.attach(opened.port);
      return await attached(opened.port, shown);
    }
    const supervisor = opened.supervisor;
    await supervisor.addJob(emitter);
    repoRoot.resolve(supervisor.repoRoot);
    port.attach(supervisor);
    if (startAll)
      for (const loop of supervisor.loops())
        supervisor.send({ type: 'start', loop: loop.name, trigger: 'demo' });
    await shown;
  } finally {
    if (opened?.kind === 'local') await opened.close('loops was closed');
  }
  for (const err of errors)
    process.stderr.write(`loops: ${err instanceof Error ? err.message : String(err)}\n`);
  return errors.length ? 1 : 0;
}

/** The state folder opened here with the fleet's caps and jobs, or the owner's socket when one serves it. */
async function openHere(
  options: CommonOptions,
  extra: SupervisorOptions,
  errors: unknown[],
): Promise<LocalOwner | RemoteOwner> {
  const { fleetJobs } = await import('../fleet/index.js');
  const { openPort } = await import('./port.js');
  const fleet = await fleetJobs(options.repo, extra.env ?? process.env);
  const opened = await openPort(options.repo, {
    owner: 'screen',
    // A person watches the screen: approvals are asked there, and a stall's pause waits for them.
    supervisor: { attended: true, ...fleet.options, ...extra, onError: (err) => errors.push(err) },
    connect: { client: 'screen', subscribe: true, history: true },
    jobs: fleet.jobs,
    ...(fleet.file.webhooks ? { webhookPort: fleet.file.webhooks.port } : {}),
  });
  if (!opened) throw new Error('loops could not open the state folder');
  return opened;
}

/** The screen of a supervisor in another process: quitting it leaves that process's runs running. */
async function attached(port: RemoteSupervisor, shown: Promise<void>): Promise<number> {
  let gone: string | undefined;
  port.onClose((reason) => {
    gone = reason;
  });
  try {
    await shown;
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

/** Lends the screen's own proposals port the supervisor's hillclimb stream. */
class EmitJob implements SupervisorJob {
  readonly name = 'screen proposals';
  private ctx: JobContext | undefined;
  start(ctx: JobContext): void {
    this.ctx = ctx;
  }
  stop(): void {
    this.ctx = undefined;
  }
  emit(loop: string, body: LoopEventBody): void {
    this.ctx?.emit('hillclimb', loop, body);
  }
}

class Deferred<T> {
  resolve: (value: T) => void = () => undefined;
  readonly promise = new Promise<T>((resolve) => {
    this.resolve = resolve;
  });
}

/** The review port once the engine has opened (its keys only act on finished runs, after that). */
function lazyReview(ready: Promise<ReviewPort>): ReviewPort {
  // A failed open is reported by supervise itself; here it only must not be unhandled.
  ready.catch(() => undefined);
  return {
    diff: async (ref) => (await ready).diff(ref),
    merge: async (ref) => (await ready).merge(ref),
    discardCost: async (ref) => (await ready).discardCost(ref),
    discard: async (ref) => (await ready).discard(ref),
  };
}

/**
 * The screen's proposals port. Its evaluations re-run tasks in the sandbox the screen's supervisor
 * uses: the demo's unconfined fallback included (`h` in the demo on a machine without bubblewrap).
 */
export async function openScreenProposals(
  root: string,
  extra: Pick<SupervisorOptions, 'sandbox'>,
  hooks: Pick<ProposalsOptions, 'emit' | 'reportError' | 'env'>,
): Promise<OpenedProposals> {
  const { openProposals } = await import('../hillclimb/port.js');
  return openProposals(root, { ...hooks, ...(extra.sandbox ? { sandbox: extra.sandbox } : {}) });
}

/** Hill-climbing proposals once the repository is known (state/NAME/proposals). */
function lazyProposals(ready: Promise<ProposalsPort>): ProposalsPort {
  ready.catch(() => undefined);
  return {
    list: async (loop, options) => (await ready).list(loop, options),
    accept: async (id, options) => (await ready).accept(id, options),
    reject: async (id, reason) => (await ready).reject(id, reason),
    improve: async (loop) => (await ready).improve(loop),
  };
}
