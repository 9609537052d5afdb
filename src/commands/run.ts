/** `loops run NAME --headless [--json]`: one run, no screen, exit status by outcome. */
import { EXIT_BAD_DEFINITION, OUTCOME_EXIT_CODES, totalTokens } from '../core/events.js';
import type { RunResult } from '../core/run/run.js';
import type { CommonOptions } from './index.js';
import { loopProblems, openHeadless, runAttendedByNobody } from './headless.js';
import { writeJobSummary } from './job-summary.js';
import { findOwner } from '../daemon/client.js';
import { statePaths } from '../state/paths.js';

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
  const opened = await openHeadless(options.repo);
  if (typeof opened === 'number') return opened;
  const { supervisor } = opened;
  try {
    const problem = await loopProblems(supervisor, name);
    if (problem !== undefined) return problem;
    const result = await runAttendedByNobody(opened, name, () => supervisor.start(name, 'manual'));
    process.stdout.write(
      options.json ? `${JSON.stringify(summaryJson(name, result))}\n` : summaryText(name, result),
    );
    await writeJobSummary(process.env, result.summaryPath, (m) => process.stderr.write(`loops: ${m}\n`));
    return OUTCOME_EXIT_CODES[result.outcome];
  } finally {
    await opened.close();
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
