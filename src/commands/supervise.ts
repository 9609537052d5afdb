/** `loops`: the supervisor screen over every loop in the repository. */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import type { Supervisor, SupervisorOptions } from '../core/supervisor.js';
import type { CommonOptions } from './index.js';
import { reportStartupError } from './errors.js';
import type { ReviewPort } from '../ui/review-port.js';

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
  // The first frame comes before the engine has opened (state, worktrees, recovery): the screen
  // draws an "opening" state through a port that takes the engine once it is there.
  const { runTui } = await import('../ui/start-tui.js');
  const { OpeningPort } = await import('../ui/opening-port.js');
  const { gitReviewPort } = await import('./review-port.js');
  const port = new OpeningPort();
  const failed = new AbortController();
  let supervisor: Supervisor | undefined;
  let opened: (value: Supervisor) => void = () => undefined;
  const ready = new Promise<Supervisor>((resolve) => {
    opened = resolve;
  });
  const review = lazyReview(ready.then((engine) => gitReviewPort(engine.repoRoot)));
  // render() draws the first frame before it returns; only then is the engine loaded and opened.
  const spendHistory = {
    read: async () => {
      const { ledgerSpendHistory } = await import('./spend-history-port.js');
      return ledgerSpendHistory((await ready).repoRoot).read();
    },
  };
  const shown = runTui(port, { review, spendHistory, signal: failed.signal });
  const opening = import('../core/supervisor.js').then(({ Supervisor }) =>
    Supervisor.open(options.repo, {
      // A person watches the screen: approvals are asked there, and a stall's pause waits for them.
      attended: true,
      ...extra,
      onError: (err) => errors.push(err),
    }),
  );
  try {
    try {
      supervisor = await opening;
    } catch (err) {
      failed.abort();
      await shown;
      return reportStartupError(err);
    }
    opened(supervisor);
    port.attach(supervisor);
    if (startAll)
      for (const loop of supervisor.loops())
        supervisor.send({ type: 'start', loop: loop.name, trigger: 'demo' });
    await shown;
  } finally {
    await supervisor?.shutdown('loops was closed');
  }
  for (const err of errors)
    process.stderr.write(`loops: ${err instanceof Error ? err.message : String(err)}\n`);
  return errors.length ? 1 : 0;
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
