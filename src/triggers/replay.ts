/**
 * What it takes to run a past task again (hill-climbing re-runs a loop's failing tasks with a
 * proposed change; a person may repeat a run): the commit the run started from and what started it.
 * The start command it returns carries a `replay` context naming the original run, so the new run's
 * record says what it repeats, and the agent sees the original event (its files, its payload) again.
 */
import type { Command } from '../core/control.js';
import type { TriggerContext } from '../core/trigger-context.js';
import type { RunRecord } from '../state/index-db.js';

export interface ReplayableRun {
  loop: string;
  run: string;
  /** The commit to start from (a worktree at this sha is the task as it was). */
  baseSha: string;
  /** What started the original run; a run from before triggers reads as a manual start. */
  original: TriggerContext;
  /** The context to give the new run: the original event's, marked as a replay of `run`. */
  context: TriggerContext;
}

/** Why a run cannot be replayed, or its replay. */
export function replayContext(
  record: Pick<RunRecord, 'loop' | 'run' | 'baseSha' | 'context' | 'startedAt' | 'trigger'>,
  kind: 'replay' | 'hillclimb' = 'replay',
): { ok: true; replay: ReplayableRun } | { ok: false; reason: string } {
  if (record.baseSha === undefined || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(record.baseSha))
    return {
      ok: false,
      reason: `run ${record.run} of ${record.loop} has no recorded base commit (it is older than replayable runs)`,
    };
  const original = readContext(record.context) ?? {
    kind: 'manual',
    detail: record.trigger,
    at: record.startedAt,
  };
  const context: TriggerContext = {
    ...original,
    kind,
    detail: `${kind === 'replay' ? 'replay' : 'hill-climb'} of run ${record.run} (${original.kind}: ${original.detail})`,
    at: new Date().toISOString(),
    replayOf: record.run,
  };
  return {
    ok: true,
    replay: { loop: record.loop, run: record.run, baseSha: record.baseSha, original, context },
  };
}

/** The start command that repeats it (the caller points the loop's base at `baseSha`). */
export function replayStart(replay: ReplayableRun): Command {
  return { type: 'start', loop: replay.loop, trigger: replay.context.kind, context: replay.context };
}

/** The index keeps a context as written; only a well-formed one is trusted to describe the event. */
function readContext(raw: unknown): TriggerContext | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const c = raw as Partial<TriggerContext>;
  if (typeof c.kind !== 'string' || typeof c.detail !== 'string' || typeof c.at !== 'string')
    return undefined;
  return {
    kind: c.kind,
    detail: c.detail,
    at: c.at,
    ...(Array.isArray(c.files) && c.files.every((f) => typeof f === 'string') ? { files: c.files } : {}),
    ...(c.payload && typeof c.payload === 'object' && typeof c.payload.hook === 'string'
      ? { payload: c.payload }
      : {}),
    ...(c.goal ? { goal: c.goal } : {}),
    ...(typeof c.replayOf === 'string' ? { replayOf: c.replayOf } : {}),
    ...(c.triage && typeof c.triage.reason === 'string' ? { triage: c.triage } : {}),
  };
}
