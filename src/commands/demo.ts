/** `loops demo` (what `npm start` runs): the supervisor on a throwaway repo with scripted loops. */
import { Supervisor } from '../core/supervisor.js';
import { OUTCOME_EXIT_CODES } from '../core/events.js';
import { describeEventLine } from '../core/describe.js';
import { createDemoRepo } from '../demo/setup.js';
import { paced } from '../demo/pacing.js';
import { sandboxBanner } from '../demo/sandbox-banner.js';
import type { CommonOptions } from './index.js';
import { supervise } from './supervise.js';

export async function demo(options: CommonOptions): Promise<number> {
  const dir = await createDemoRepo();
  const interactive = !options.headless && process.stdin.isTTY === true && process.stdout.isTTY === true;
  process.stderr.write(`loops demo: a throwaway repository at ${dir}\n`);
  // The demo runs where the sandbox cannot (a fresh machine): unconfined then, and it says so loudly.
  const banner = await sandboxBanner();
  if (banner !== undefined) process.stderr.write(banner);
  const code = interactive
    ? await supervise(
        { ...options, repo: dir },
        { wrapProvider: (p) => paced(p, paceMs(700)), sandbox: DEMO_SANDBOX },
        true,
      )
    : await headlessDemo(dir);
  if (banner !== undefined && interactive) process.stderr.write(banner);
  process.stderr.write(
    `\nThe demo's work is on branches in ${dir}:\n  git -C ${dir} branch --list 'loops/*'\n  git -C ${dir} log -p loops/fix-tests/<run>\n`,
  );
  return code;
}

/**
 * Hill-climbing offline: the scripted analyst reads tidy-comments' real trace, proposes the sentence its
 * skill lacks, and the evaluation really re-runs the task with and without it. Told on stderr, so the
 * outcome lines on stdout stay one per loop.
 */
async function demoProposal(dir: string): Promise<void> {
  const { improve } = await import('../hillclimb/improve.js');
  const made = await improve({ repoRoot: dir, loop: 'tidy-comments', env: {}, sandbox: DEMO_SANDBOX });
  if (!made.ok) {
    process.stderr.write(`[hill-climb] no proposal for tidy-comments: ${made.reason}\n`);
    return;
  }
  const p = made.proposal;
  process.stderr.write(
    `[hill-climb] ${p.id} ${p.status}: ${p.title} (${p.file}); ${p.effect}\n` +
      `  review it: loops -C ${dir} review show ${p.id}; then review accept ${p.id} or review reject ${p.id} --reason TEXT\n`,
  );
}

/** Only the demo's own scripted loops may fall back to running unconfined. */
const DEMO_SANDBOX = { fallback: 'unconfined' } as const;

function paceMs(fallback: number): number {
  const fromEnv = Number(process.env.LOOPS_DEMO_PACE_MS);
  return Number.isFinite(fromEnv) && process.env.LOOPS_DEMO_PACE_MS !== undefined ? fromEnv : fallback;
}

/** Without a terminal: run every demo loop at once and print their outcomes. */
async function headlessDemo(dir: string): Promise<number> {
  const supervisor = await Supervisor.open(dir, {
    wrapProvider: (p) => paced(p, paceMs(0)),
    sandbox: DEMO_SANDBOX,
  });
  try {
    supervisor.subscribe((event) => {
      const line = describeEventLine(event);
      if (line) process.stderr.write(`[${event.loop} #${event.iteration}] ${line}\n`);
    });
    const results = await Promise.all(supervisor.loops().map((l) => supervisor.start(l.name, 'demo')));
    for (const [i, r] of results.entries()) {
      process.stdout.write(
        `${supervisor.loops()[i]?.name ?? '?'}: ${r.outcome}: ${r.reason} (${r.branch})\n`,
      );
    }
    await demoProposal(dir);
    return results.some((r) => OUTCOME_EXIT_CODES[r.outcome] === 1) ? 1 : 0;
  } finally {
    await supervisor.shutdown();
  }
}
