/**
 * `loops resume NAME [RUN] [--json]`: a new run that continues an interrupted run (or one that ended on
 * a budget, once LOOP.md gives it more) from its last completed iteration. The new run's branch
 * starts at that iteration's commit; MEMORY.md already holds the memory; the iteration, tool-call and
 * spend counters come back from the old run's trace and the ledger, so the caps count the whole work.
 * The old run keeps its own `run.ended`; the new one records `resumedFrom` and gets its own.
 */
import type { EventOf } from '../core/events.js';
import {
  addUsage,
  EXIT_BAD_DEFINITION,
  OUTCOME_EXIT_CODES,
  totalTokens,
  emptyUsage,
} from '../core/events.js';
import type { CommandReply } from '../core/control.js';
import type { ResumePoint } from '../core/run/run.js';
import type { Supervisor } from '../core/supervisor.js';
import type { ResumeCommand } from '../daemon/server.js';
import { INTERRUPTED_REASON, type RunRecord } from '../state/index-db.js';
import { newRunId, type StatePaths } from '../state/paths.js';
import { ledgerFor } from '../state/spend-ledger.js';
import { readTrace } from '../state/trace.js';
import { git } from '../workspace/git.js';
import { loopProblems, openHeadless, runAttendedByNobody } from './headless.js';
import type { CommonOptions } from './index.js';

/** Why a run cannot be resumed, or undefined when it can. */
export function resumeRefusal(record: RunRecord): string | undefined {
  if (record.status === 'budget') return undefined;
  if (record.status === 'failed' && record.reason?.startsWith(INTERRUPTED_REASON)) return undefined;
  if (record.status === 'running') return `run ${record.run} is still running`;
  return (
    `run ${record.run} ended ${record.status}${record.reason ? ` (${record.reason})` : ''}; only an ` +
    'interrupted run or one that reached its budget can be resumed: start a new run with loops run'
  );
}

/** Where `record`'s work stands: its last completed iteration, that iteration's commit, its counters. */
export async function findResumePoint(
  repoRoot: string,
  paths: StatePaths,
  record: RunRecord,
): Promise<ResumePoint> {
  const events = await readTrace(paths.trace(record.loop, record.run));
  const started = events.find((e): e is EventOf<'run.started'> => e.type === 'run.started');
  if (!started) {
    throw new Error(
      `run ${record.run} of ${record.loop} never started its first iteration (no run.started in its trace); start a new run instead`,
    );
  }
  const carried = started.restored;
  const completed = events
    .filter((e): e is EventOf<'iteration.ended'> => e.type === 'iteration.ended')
    .reduce((n, e) => Math.max(n, e.iteration), carried?.iterations ?? 0);
  const toolCalls = events.filter((e) => e.type === 'tool.call').length + (carried?.toolCalls ?? 0);
  const spent = await ledgerFor(paths).runTotals(record.loop, record.run);
  const usage = addUsage(spent?.usage ?? emptyUsage(), carried?.usage ?? emptyUsage());
  const spend = {
    usd: (spent?.usd ?? 0) + (carried?.spend.usd ?? 0),
    unpricedCalls: (spent?.unpricedCalls ?? 0) + (carried?.spend.unpricedCalls ?? 0),
  };
  const baseSha = started.baseSha ?? (await mergeBase(repoRoot, started.branch, started.base));
  const commit = await commitAfter(repoRoot, started.branch, record.loop, completed);
  return { from: record.run, commit, baseSha, iterations: completed, toolCalls, usage, spend };
}

/**
 * The branch's state once iteration `n` had ended: the parent of iteration n+1's commit when that
 * iteration got as far as committing, else the branch tip (iteration n+1 committed nothing).
 */
async function commitAfter(repoRoot: string, branch: string, loop: string, n: number): Promise<string> {
  const tip = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
  if (tip.exitCode !== 0) {
    throw new Error(`the run's branch ${branch} is gone, so there is nothing to continue from`);
  }
  const log = await git(repoRoot, ['log', '--format=%H%x09%P%x09%s', `refs/heads/${branch}`]);
  const next = `loops: ${loop} iteration ${n + 1}`;
  for (const line of log.stdout.split('\n')) {
    const [, parents, subject] = line.split('\t');
    if (subject === next) {
      const parent = parents?.split(' ')[0];
      if (parent) return parent;
    }
  }
  return tip.stdout.trim();
}

async function mergeBase(repoRoot: string, branch: string, base: string): Promise<string> {
  const found = await git(repoRoot, ['merge-base', `refs/heads/${branch}`, base]);
  if (found.exitCode !== 0) throw new Error(`cannot find where ${branch} started from ${base}`);
  return found.stdout.trim();
}

export async function resume(args: string[], options: CommonOptions): Promise<number> {
  const [name, runArg, ...extra] = args;
  if (!name || extra.length > 0) {
    process.stderr.write(
      'loops resume: give a loop name and optionally a run id, e.g. loops resume fix-tests\n',
    );
    return EXIT_BAD_DEFINITION;
  }
  // Opening closes any run the last loops left unfinished, so it can be resumed here.
  const opened = await openHeadless(options.repo);
  if (typeof opened === 'number') return opened;
  const { supervisor } = opened;
  try {
    const problem = await loopProblems(supervisor, name);
    if (problem !== undefined) return problem;
    const found = await resumable(supervisor, name, runArg);
    if (typeof found === 'string') {
      process.stderr.write(`loops resume: ${found}\n`);
      return EXIT_BAD_DEFINITION;
    }
    const point = found;
    const runId = newRunId();
    process.stderr.write(restoredText(name, runId, point));
    const result = await runAttendedByNobody(opened, name, () =>
      supervisor.start(name, 'resume', runId, { resume: point }),
    );
    const summary = {
      loop: name,
      run: result.run,
      resumedFrom: point.from,
      outcome: result.outcome,
      reason: result.reason,
      iterations: result.iterations,
      toolCalls: result.toolCalls,
      usage: result.usage,
      spend: result.spend,
      branch: result.branch,
      restored: point,
    };
    process.stdout.write(
      options.json
        ? `${JSON.stringify(summary)}\n`
        : [
            `${name}: ${result.outcome}: ${result.reason}`,
            `  run        ${result.run} (resumed from ${point.from})`,
            `  iterations ${result.iterations}, tool calls ${result.toolCalls}, tokens ${totalTokens(result.usage)}`,
            `  spend      $${result.spend.usd.toFixed(4)}`,
            `  branch     ${result.branch || '(none)'}`,
            '',
          ].join('\n'),
    );
    return OUTCOME_EXIT_CODES[result.outcome];
  } finally {
    await opened.close();
  }
}

/** Where the run to continue stands (the last resumable one, or `runArg`), or why there is none. */
async function resumable(
  supervisor: Supervisor,
  name: string,
  runArg: string | undefined,
): Promise<ResumePoint | string> {
  const index = supervisor.runIndex;
  const record =
    runArg === undefined
      ? index
          .runs(name)
          .reverse()
          .find((r) => resumeRefusal(r) === undefined)
      : index.run(name, runArg);
  if (!record)
    return runArg === undefined
      ? `${name} has no interrupted run and none that reached its budget`
      : `${name} has no run ${runArg}`;
  const refusal = resumeRefusal(record);
  if (refusal) return refusal;
  try {
    return await findResumePoint(supervisor.repoRoot, supervisor.paths, record);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * `loops resume NAME [RUN]` sent to the owner of the folder, for a loop with no paused run: the owner
 * continues the run as `loops resume` does with no owner, in a run of its own (the reply names it).
 */
export async function continueInOwner(
  supervisor: Supervisor,
  command: ResumeCommand,
  id: string,
  report: (err: unknown) => void,
): Promise<CommandReply> {
  const { loop } = command;
  const reply = (ok: boolean, reason: string, run?: string): CommandReply => ({
    id,
    type: 'resume',
    loop,
    ok,
    status: ok ? 'started' : 'refused',
    reason,
    ...(run === undefined ? {} : { run }),
  });
  if (!supervisor.definition(loop)) return reply(false, `no valid loop named "${loop}": run loops validate`);
  const snapshot = supervisor.snapshot();
  if (snapshot.runs.some((r) => r.loop === loop))
    return reply(false, `${loop} is running; nothing to continue`);
  if (snapshot.inFlight >= snapshot.limit)
    return reply(false, `${snapshot.inFlight} runs are in flight, the limit: resume it when one ends`);
  const found = await resumable(supervisor, loop, command.run);
  if (typeof found === 'string') return reply(false, found);
  const runId = newRunId();
  supervisor.start(loop, 'resume', runId, { resume: found }).catch(report);
  return reply(
    true,
    `continuing run ${found.from} from iteration ${found.iterations} as run ${runId}`,
    runId,
  );
}

function restoredText(loop: string, run: string, p: ResumePoint): string {
  const unpriced = p.spend.unpricedCalls ? ` + ${p.spend.unpricedCalls} unpriced call(s)` : '';
  return [
    `loops resume: ${loop} run ${p.from} → new run ${run}`,
    `  from       iteration ${p.iterations} (commit ${p.commit.slice(0, 12)}), memory in MEMORY.md`,
    `  restored   ${p.iterations} iteration(s), ${p.toolCalls} tool call(s), ${totalTokens(p.usage)} tokens, $${p.spend.usd.toFixed(4)}${unpriced}`,
    '',
  ].join('\n');
}
