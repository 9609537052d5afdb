/** What a finished (or starting) run leaves in state/: its summary file and its index record. */
import type { LoopDefinition } from '../definition/schema.js';
import type { BudgetCap, Outcome, RunSpend, TokenUsage } from '../events.js';
import type { StateIndex, RunRecord } from '../../state/index-db.js';
import { writeRunSummary, type RunSummary } from '../../state/summary.js';
import type { Worktree } from '../../workspace/worktrees.js';
import type { TriggerContext } from '../trigger-context.js';

export interface RunFacts {
  definition: LoopDefinition;
  run: string;
  trigger: string;
  startedAt: string;
  worktree?: Worktree;
  /** How the run's commands were confined (process/sandbox.ts). */
  sandbox?: string;
  /** `loops resume`: the run this one continues. */
  resumedFrom?: string;
  /** What started it (replayable: with the base sha, a past task can be run again). */
  context?: TriggerContext;
}

export interface RunEnding {
  outcome: Outcome;
  reason: string;
  budget?: { cap: BudgetCap; limit: number; used: number };
}

export interface RunTotals {
  iterations: number;
  toolCalls: number;
  usage: TokenUsage;
  spend: RunSpend;
}

export async function recordStart(index: StateIndex, facts: RunFacts): Promise<void> {
  await index.upsertRun(indexRecord(facts, 'running', { iterations: 0 }));
}

export async function recordEnd(
  index: StateIndex,
  summaryPath: string,
  facts: RunFacts,
  ending: RunEnding,
  totals: RunTotals,
  graders: RunSummary['graders'],
): Promise<void> {
  const endedAt = new Date().toISOString();
  await writeRunSummary(summaryPath, {
    loop: facts.definition.name,
    run: facts.run,
    trigger: facts.trigger,
    outcome: ending.outcome,
    reason: ending.reason,
    startedAt: facts.startedAt,
    endedAt,
    ...totals,
    base: facts.definition.workspace.base,
    baseSha: facts.worktree?.baseSha ?? '',
    branch: facts.worktree?.branch ?? '',
    worktree: facts.worktree?.path ?? '',
    ...(ending.budget ? { budget: ending.budget } : {}),
    ...(facts.sandbox === undefined ? {} : { sandbox: facts.sandbox }),
    graders,
  });
  await index.upsertRun(
    indexRecord(facts, ending.outcome, {
      endedAt,
      iterations: totals.iterations,
      reason: ending.reason,
      usage: totals.usage,
    }),
  );
}

function indexRecord(
  facts: RunFacts,
  status: RunRecord['status'],
  rest: Pick<RunRecord, 'iterations'> & Partial<Pick<RunRecord, 'endedAt' | 'reason' | 'usage'>>,
): RunRecord {
  return {
    loop: facts.definition.name,
    run: facts.run,
    status,
    trigger: facts.trigger,
    startedAt: facts.startedAt,
    branch: facts.worktree?.branch ?? '',
    worktree: facts.worktree?.path ?? '',
    ...(facts.worktree?.baseSha ? { baseSha: facts.worktree.baseSha } : {}),
    ...(facts.resumedFrom === undefined ? {} : { resumedFrom: facts.resumedFrom }),
    ...(facts.context === undefined ? {} : { context: facts.context }),
    ...rest,
  };
}
