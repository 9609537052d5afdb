/**
 * Runs cut off by a crash or `kill -9`, closed on the next open that holds the state lock: each gets
 * the one `run.ended` it never wrote (outcome failed, reason interrupted, with what it did: iterations
 * and tool calls from its trace, tokens and dollars from the ledger), its runs/RUN.md summary, its
 * index record, and its spend file closed. A run killed during start-up (a trace, perhaps empty, and
 * no index record) is found by its trace file and closed the same way.
 *
 * Idempotent: a run whose trace already has its `run.ended` (killed after writing it) only gets the
 * records that are missing, never a second `run.ended`.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { EventOf, LoopEvent, TokenUsage } from '../core/events.js';
import { addUsage, emptyUsage } from '../core/events.js';
import { INTERRUPTED_REASON, type RunRecord, type StateIndex } from './index-db.js';
import { isLoopName, isRunId, type StatePaths } from './paths.js';
import type { SpendLedger } from './spend-ledger.js';
import { writeRunSummary, type RunSummary } from './summary.js';
import { readTrace, TraceWriter } from './trace.js';

export interface RecoveredRun {
  loop: string;
  run: string;
  /** True when this open wrote the run's `run.ended` (false: the trace already had one). */
  endedNow: boolean;
  iterations: number;
  toolCalls: number;
  usage: TokenUsage;
  usd: number;
  unpricedCalls: number;
}

export async function recoverInterrupted(
  paths: StatePaths,
  index: StateIndex,
  ledger: SpendLedger,
  now: Date = new Date(),
): Promise<RecoveredRun[]> {
  const candidates = new Map<string, { loop: string; run: string; record?: RunRecord }>();
  for (const record of index.runningRuns()) {
    candidates.set(`${record.loop}\u0000${record.run}`, { loop: record.loop, run: record.run, record });
  }
  for (const orphan of await tracesWithoutRecord(paths, index)) {
    candidates.set(`${orphan.loop}\u0000${orphan.run}`, orphan);
  }
  const recovered: RecoveredRun[] = [];
  for (const c of candidates.values()) recovered.push(await closeRun(paths, index, ledger, c, now));
  return recovered;
}

/** Traces with no index record: runs killed before their start was recorded. */
async function tracesWithoutRecord(
  paths: StatePaths,
  index: StateIndex,
): Promise<Array<{ loop: string; run: string }>> {
  const known = new Set(index.runs().map((r) => `${r.loop}\u0000${r.run}`));
  const found: Array<{ loop: string; run: string }> = [];
  const loops = await readdir(paths.root, { withFileTypes: true }).catch(() => []);
  for (const entry of loops) {
    if (!entry.isDirectory() || !isLoopName(entry.name)) continue;
    const names = await readdir(paths.tracesDir(entry.name)).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue;
      const run = name.slice(0, -'.jsonl'.length);
      if (!isRunId(run) || known.has(`${entry.name}\u0000${run}`)) continue;
      found.push({ loop: entry.name, run });
    }
  }
  return found;
}

async function closeRun(
  paths: StatePaths,
  index: StateIndex,
  ledger: SpendLedger,
  c: { loop: string; run: string; record?: RunRecord },
  now: Date,
): Promise<RecoveredRun> {
  const tracePath = paths.trace(c.loop, c.run);
  let events: LoopEvent[] = [];
  let unreadable: string | undefined;
  try {
    events = await readTrace(tracePath);
  } catch (error) {
    // A damaged trace is left as it is; the run is still closed in the index and the summary.
    unreadable = error instanceof Error ? error.message : String(error);
  }
  const started = events.find((e): e is EventOf<'run.started'> => e.type === 'run.started');
  const spent = await ledger.runTotals(c.loop, c.run);
  // A resumed run's counters started from what it continued, as its own run.ended would have said.
  const carried = started?.restored;
  const usage = addUsage(spent?.usage ?? emptyUsage(), carried?.usage ?? emptyUsage());
  const spend = {
    usd: (spent?.usd ?? 0) + (carried?.spend.usd ?? 0),
    unpricedCalls: (spent?.unpricedCalls ?? 0) + (carried?.spend.unpricedCalls ?? 0),
  };
  let ended = events.find((e): e is EventOf<'run.ended'> => e.type === 'run.ended');
  const endedNow = ended === undefined;
  const startedAt = c.record?.startedAt ?? events[0]?.time ?? now.toISOString();
  if (!ended) {
    const last = events.at(-1);
    const iterations = events.reduce((n, e) => Math.max(n, e.iteration), 0);
    const toolCalls = events.filter((e) => e.type === 'tool.call').length + (carried?.toolCalls ?? 0);
    const reason = unreadable ? `${INTERRUPTED_REASON} (trace unreadable: ${unreadable})` : INTERRUPTED_REASON;
    ended = {
      loop: c.loop,
      run: c.run,
      iteration: last?.iteration ?? 0,
      time: now.toISOString(),
      seq: (last?.seq ?? 0) + 1,
      span: `run:${c.run}`,
      type: 'run.ended',
      outcome: 'failed',
      reason,
      iterations,
      toolCalls,
      usage,
      spend,
      branch: started?.branch ?? c.record?.branch ?? '',
      worktree: started?.worktree ?? c.record?.worktree ?? '',
      durationMs: Math.max(0, Date.parse(last?.time ?? startedAt) - Date.parse(startedAt)) || 0,
    };
    if (!unreadable) {
      const writer = await TraceWriter.open(tracePath);
      try {
        await writer.append(ended);
      } finally {
        await writer.close();
      }
    }
  }
  const endedAt = c.record?.endedAt ?? (endedNow ? now.toISOString() : ended.time);
  const summaryPath = paths.runSummary(c.loop, c.run);
  if (endedNow || !existsSync(summaryPath)) {
    const summary: RunSummary = {
      loop: c.loop,
      run: c.run,
      trigger: started?.trigger ?? c.record?.trigger ?? 'unknown',
      outcome: ended.outcome,
      reason: ended.reason,
      startedAt,
      endedAt,
      iterations: ended.iterations,
      toolCalls: ended.toolCalls,
      usage: ended.usage,
      spend: ended.spend,
      base: started?.base ?? '',
      baseSha: started?.baseSha ?? '',
      branch: ended.branch,
      worktree: ended.worktree,
      ...(ended.budget ? { budget: ended.budget } : {}),
      graders: events
        .filter((e): e is EventOf<'grader.result'> => e.type === 'grader.result')
        .map((g) => ({
          iteration: g.iteration,
          name: g.name,
          passed: g.passed,
          ...(g.score === undefined ? {} : { score: g.score }),
          feedback: g.feedback,
        })),
    };
    await writeRunSummary(summaryPath, summary);
  }
  await index.upsertRun({
    loop: c.loop,
    run: c.run,
    status: ended.outcome,
    trigger: c.record?.trigger ?? started?.trigger ?? 'unknown',
    startedAt,
    endedAt,
    iterations: ended.iterations,
    branch: ended.branch,
    worktree: ended.worktree,
    reason: ended.reason,
    usage: ended.usage,
    ...(started?.resumedFrom ? { resumedFrom: started.resumedFrom } : {}),
  });
  await ledger.closeRun(c.loop, c.run);
  return {
    loop: c.loop,
    run: c.run,
    endedNow,
    iterations: ended.iterations,
    toolCalls: ended.toolCalls,
    usage: ended.usage,
    usd: ended.spend.usd,
    unpricedCalls: ended.spend.unpricedCalls,
  };
}
