/**
 * One hill-climb step for a loop: failure signatures from its recent traces, the analyst's one
 * proposal (checked by the guard), the evaluation on the loop's recent tasks, and the proposal filed
 * as pending (it improved) or regressed (it did not: kept on disk, never put in front of a person).
 */
import type { CallGate } from '../core/budget/call-gate.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import type { LoopEvent, LoopEventBody, TokenUsage } from '../core/events.js';
import { loadAllLoops, loadLoop } from '../core/definition/load.js';
import { loadFleetFile } from '../fleet/file.js';
import { pricerFor } from '../core/budget/prices.js';
import { ModelCaller } from '../core/run/model-caller.js';
import { createGraders } from '../core/verify/index.js';
import { loopProvider } from '../core/run/loop-provider.js';
import type { ModelProvider } from '../models/provider.js';
import type { RunSandboxOptions } from '../process/run-sandbox.js';
import { StateIndex, type RunRecord } from '../state/index-db.js';
import { readEvalSet } from './eval-set.js';
import { statePaths } from '../state/paths.js';
import { ledgerFor, type SpendLedger } from '../state/spend-ledger.js';
import { runAnalyst, type RejectedBefore } from './analyst.js';
import { evaluateProposal, pickTasks } from './evaluate.js';
import { checkProposal } from './guard.js';
import { extractSignatures, readTraces, recentRuns } from './signatures.js';
import { SpendScope } from './spend-scope.js';
import { byReviewOrder, hashText, newProposalId, ProposalStore, type ProposalRecord } from './store.js';

/** Runs whose traces the analysis reads. */
const TRACES_READ = 20;

export interface ImproveOptions {
  repoRoot: string;
  loop: string;
  env?: NodeJS.ProcessEnv;
  /** Proposal and progress events (source `hillclimb`). */
  emit?: (body: LoopEventBody) => void;
  sandbox?: Pick<RunSandboxOptions, 'bwrapPath' | 'fallback'>;
  wrapProvider?: (provider: ModelProvider) => ModelProvider;
  price?: (model: string, usage: TokenUsage) => number | null;
  ledger?: SpendLedger;
  signal?: AbortSignal;
  /** Called with every event of the evaluation's re-runs. */
  onRunEvent?: (event: LoopEvent) => void;
  /** The fleet's caps (loops.yaml): the analyst's and the re-runs' calls wait at them like a run's. */
  callGate?: CallGate;
  /** Given the analyst's events and the re-runs' billed calls (the fleet gate counts their dollars). */
  countSpend?: (event: LoopEvent) => void;
}

export type ImproveResult = { ok: true; proposal: ProposalRecord } | { ok: false; reason: string };

export function runsPerTask(def: LoopDefinition): number {
  return def.hillclimb?.runs_per_task ?? (def.agent.provider === 'scripted' ? 1 : 3);
}

export async function improve(o: ImproveOptions): Promise<ImproveResult> {
  // Loading every loop and the fleet file declares their secret variables (a webhook's secret_env,
  // notify.url_env), so the re-runs' scrubbed environments drop them whatever they are called: a
  // process that loaded this loop alone (`loops improve NAME`) would otherwise hand another loop's
  // webhook secret to this loop's agent.
  await Promise.all([loadAllLoops(o.repoRoot), loadFleetFile(o.repoRoot)]);
  const loaded = await loadLoop(o.repoRoot, o.loop);
  if (!loaded.ok) return { ok: false, reason: `loops/${o.loop} does not load: run loops validate ${o.loop}` };
  const def = loaded.definition;
  const paths = statePaths(o.repoRoot);
  const store = new ProposalStore(paths, o.repoRoot);
  const index = await StateIndex.open(paths.index);
  const runs = recentRuns(index, def.name, TRACES_READ).filter((r) => !r.run.startsWith('eval-'));
  const holdouts = new Set(
    createGraders(def)
      .filter((g) => g.holdout)
      .map((g) => g.name),
  );
  const signatures = extractSignatures(await readTraces(paths, def.name, runs), { holdouts });
  if (signatures.length === 0)
    return { ok: false, reason: `no failures in ${def.name}'s recent runs: nothing to improve` };
  const evalFile = def.hillclimb?.eval;
  let tasks: RunRecord[];
  if (evalFile === undefined) {
    tasks = pickTasks(index.runs(def.name), def.hillclimb?.tasks ?? 5);
    if (!tasks.some((t) => t.status !== 'verified')) {
      return {
        ok: false,
        reason: `no failing run of ${def.name} with a recorded base commit to evaluate on`,
      };
    }
  } else {
    // The loop names its tasks: measured on those, whatever their last outcome.
    const set = await readEvalSet(def, evalFile, index.runs(def.name));
    if (!set.ok) return { ok: false, reason: set.reason };
    tasks = set.tasks;
  }

  const earlier = await store.list(def.name);
  // A rejected proposal is never made again, nor one the evaluation already found no gain in.
  const rejected: RejectedBefore[] = earlier
    .filter((p) => p.status === 'rejected' || p.status === 'regressed')
    .map((p) => ({
      file: p.file,
      title: p.title,
      diff: p.diff,
      reason:
        p.status === 'rejected'
          ? (p.reason ?? '(no reason given)')
          : (p.reason ?? `measured, no gain: ${p.effect}`),
    }));

  const id = newProposalId();
  const emit = (
    status: Extract<LoopEventBody, { type: 'proposal.changed' }>['status'],
    file: string,
    reason: string,
  ): void => o.emit?.({ type: 'proposal.changed', id, status, file, reason });
  emit('analysing', '', `${signatures.length} failure signatures from ${runs.length} runs`);
  const price = o.price ?? pricerFor(def.agent.provider);
  const scope = await SpendScope.open({
    ledger: o.ledger ?? ledgerFor(paths),
    definition: def,
    proposal: id,
    usdCap: def.hillclimb?.usd_per_proposal ?? 0.5,
    price,
    ...(o.countSpend ? { onEvent: o.countSpend } : {}),
  });
  const stop = (): void => scope.control.stop('the analysis was stopped');
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    const env = o.env ?? process.env;
    const provider = await loopProvider(def, env, o.wrapProvider ? { wrap: o.wrapProvider } : {});
    const caller = new ModelCaller({
      provider,
      definition: def,
      budget: scope.budget,
      control: scope.control,
      emitter: scope.emitter,
      price,
      run: scope.run,
      ...(o.callGate ? { callGate: o.callGate } : {}),
    });
    const rejectedDiffs = rejected.map((r) => r.diff);
    const analysis = await runAnalyst({
      definition: def,
      repoRoot: o.repoRoot,
      signatures,
      rejected,
      caller,
      check: async (draft) => {
        const checked = await checkProposal({
          repoRoot: o.repoRoot,
          definition: def,
          file: draft.file,
          diff: draft.diff,
          rejected: rejectedDiffs,
        });
        return checked.ok ? undefined : checked.reason;
      },
    });
    if (scope.error)
      return { ok: false, reason: `the spend ledger could not record a call: ${scope.error.message}` };
    if (!analysis.ok) return { ok: false, reason: analysis.reason };
    const draft = analysis.draft;
    const checked = await checkProposal({
      repoRoot: o.repoRoot,
      definition: def,
      file: draft.file,
      diff: draft.diff,
      rejected: rejectedDiffs,
    });
    if (!checked.ok) return { ok: false, reason: checked.reason };
    emit('evaluating', draft.file, `${tasks.length} tasks × ${runsPerTask(def)} runs per arm`);
    const evaluation = await evaluateProposal({
      repoRoot: o.repoRoot,
      paths,
      definition: def,
      file: draft.file,
      after: checked.after,
      tasks,
      runsPerTask: runsPerTask(def),
      prefix: `eval-${id}`,
      env,
      ...(o.sandbox ? { sandbox: o.sandbox } : {}),
      ...(o.wrapProvider ? { wrapProvider: o.wrapProvider } : {}),
      ...(o.price ? { price: o.price } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.callGate ? { callGate: o.callGate } : {}),
      ...(def.hillclimb?.usd_per_evaluation === undefined
        ? {}
        : { usdCap: def.hillclimb.usd_per_evaluation }),
      onEvent: (event) => {
        if (event.type === 'model.response') {
          scope.recordEvaluation(event);
          o.countSpend?.(event);
        }
        o.onRunEvent?.(event);
      },
    });
    const record: ProposalRecord = {
      id,
      loop: def.name,
      status: evaluation.improves ? 'pending' : 'regressed',
      file: draft.file,
      title: draft.title.trim(),
      rationale: draft.rationale,
      diff: draft.diff.endsWith('\n') ? draft.diff : `${draft.diff}\n`,
      signatures,
      evaluation: evaluation.arms,
      effect: evaluation.effect,
      createdAt: new Date().toISOString(),
      costUsd: scope.unpriced > 0 && scope.usd === 0 ? null : scope.usd,
      ...(evaluation.improves
        ? {}
        : {
            reason: evaluation.budgetSpent
              ? `evaluation budget spent: ${evaluation.effect}`
              : evaluation.couldNotRun
                ? `the evaluation could not run: ${evaluation.effect}`
                : `the evaluation measured no gain: ${evaluation.effect}`,
          }),
      targetHash: hashText(checked.before),
      runs: runs.map((r) => r.run),
    };
    await store.save(record);
    emit(record.status, record.file, record.effect);
    return { ok: true, proposal: record };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    o.signal?.removeEventListener('abort', stop);
    await scope.close();
  }
}

/** Pending first, newest first. */
export async function listProposals(repoRoot: string, loop?: string): Promise<ProposalRecord[]> {
  const store = new ProposalStore(statePaths(repoRoot), repoRoot);
  return (await store.list(loop)).sort(byReviewOrder);
}
