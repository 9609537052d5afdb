/** `loops run NAME --headless [--json]`: one run, no screen, exit status by outcome. */
import { formatProblem } from '../core/definition/problems.js';
import { loadLoop } from '../core/definition/load.js';
import { EXIT_BAD_DEFINITION, OUTCOME_EXIT_CODES, totalTokens } from '../core/events.js';
import { Supervisor } from '../core/supervisor.js';
import type { RunResult } from '../core/run/run.js';
import { describeEventLine } from '../core/describe.js';
import type { CommonOptions } from './index.js';
import { reportStartupError } from './errors.js';
import { writeJobSummary } from './job-summary.js';
import { fleetJobs, type Fleet } from '../fleet/index.js';
import { findOwner } from '../daemon/client.js';
import { statePaths } from '../state/paths.js';

/** After a second Ctrl-C, how long the run has to record its end before loops exits anyway. */
const FORCE_GRACE_MS = 3_000;

export async function runHeadless(args: string[], options: CommonOptions): Promise<number> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0) {
    process.stderr.write('loops run: give exactly one loop name, e.g. loops run fix-tests --headless\n');
    return EXIT_BAD_DEFINITION;
  }
  // Another loops owns the folder (the daemon, a screen): the run is handed to it.
  const owner = await findOwner(statePaths(options.repo).root);
  if (owner.state === 'served') {
    const { runRemote } = await import('./run-remote.js');
    return runRemote(name, owner.socket, options);
  }
  let supervisor: Supervisor;
  let fleet: Fleet;
  try {
    fleet = await fleetJobs(options.repo, process.env);
    supervisor = await Supervisor.open(options.repo, {
      ...fleet.options,
      // Nobody to ask: approvals are denied at once and a stall's pause ends the run stalled.
      attended: false,
      onError: (err) => process.stderr.write(`loops: ${String(err)}\n`),
    });
  } catch (err) {
    return reportStartupError(err);
  }
  try {
    if (!supervisor.definition(name)) {
      const loaded = await loadLoop(supervisor.repoRoot, name);
      if (loaded.ok) throw new Error(`loop "${name}" could not be loaded`);
      for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
      return EXIT_BAD_DEFINITION;
    }
    supervisor.subscribe((event) => {
      const line = describeEventLine(event);
      if (line) process.stderr.write(`[${event.loop} #${event.iteration}] ${line}\n`);
    });
    // After the subscription: a fleet cap already reached at start is printed.
    await fleet.addTo(supervisor);
    const onSignal = (): void => {
      process.stderr.write('\nloops: stopping the run (Ctrl-C again to force)…\n');
      supervisor.send({ type: 'stop', loop: name });
      // A second Ctrl-C forces the exit, but leaves the run a moment to record its end (run.ended,
      // its summary): a stop is honoured at once in every state, so that is normally all it takes.
      process.once('SIGINT', () => {
        process.stderr.write('loops: forcing the exit once the run has recorded its end\n');
        setTimeout(() => process.exit(130), FORCE_GRACE_MS).unref();
        process.once('SIGINT', () => process.exit(130));
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const result = await supervisor.start(name, 'manual');
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.stdout.write(
      options.json ? `${JSON.stringify(summaryJson(name, result))}\n` : summaryText(name, result),
    );
    await writeJobSummary(process.env, result.summaryPath, (m) => process.stderr.write(`loops: ${m}\n`));
    return OUTCOME_EXIT_CODES[result.outcome];
  } finally {
    await supervisor.shutdown();
  }
}

export function summaryJson(loop: string, r: RunResult): Record<string, unknown> {
  return {
    loop,
    run: r.run,
    outcome: r.outcome,
    reason: r.reason,
    iterations: r.iterations,
    toolCalls: r.toolCalls,
    usage: r.usage,
    spend: r.spend,
    branch: r.branch,
    worktree: r.worktree,
    ...(r.budget ? { budget: r.budget } : {}),
    trace: r.tracePath,
    summary: r.summaryPath,
  };
}

export function summaryText(loop: string, r: RunResult): string {
  const tokens = totalTokens(r.usage);
  const unpriced = r.spend.unpricedCalls ? ` + ${r.spend.unpricedCalls} unpriced call(s)` : '';
  return [
    `${loop}: ${r.outcome}: ${r.reason}`,
    `  run        ${r.run}`,
    `  iterations ${r.iterations}, tool calls ${r.toolCalls}, tokens ${tokens}`,
    `  spend      $${r.spend.usd.toFixed(4)}${unpriced}`,
    `  branch     ${r.branch || '(none)'}`,
    `  worktree   ${r.worktree || '(none)'}`,
    `  trace      ${r.tracePath}`,
    `  summary    ${r.summaryPath}`,
    '',
  ].join('\n');
}
