/**
 * The screen's ReviewPort, implemented with workspace/review.ts on the repository's own git. Every
 * decision a person makes here (a merge, a discard) is appended to that run's trace as a
 * `review.decided` event, so the run's record says what became of its work.
 */
import type { LoopEvent } from '../core/events.js';
import type { ReviewPort, ReviewReply, RunRef } from '../ui/review-port.js';
import { statePaths } from '../state/paths.js';
import { readTrace, TraceWriter } from '../state/trace.js';
import { discardCost, discardRun, mergeRun, runDiff } from '../workspace/review.js';

export function gitReviewPort(repoRoot: string): ReviewPort {
  const decided = async (
    ref: RunRef,
    decision: 'merged' | 'discarded',
    reply: Promise<ReviewReply>,
  ): Promise<ReviewReply> => {
    const answer = await reply;
    if (!answer.ok) return answer;
    try {
      await recordDecision(repoRoot, ref, decision, answer.message);
    } catch (error) {
      // The git side is done; the decision's record is what failed, and the person is told.
      const why = error instanceof Error ? error.message : String(error);
      return { ok: false, message: `${answer.message}; but the run's trace could not record it: ${why}` };
    }
    return answer;
  };
  return {
    diff: (ref) => runDiff(repoRoot, ref),
    merge: (ref) =>
      decided(
        ref,
        'merged',
        mergeRun(repoRoot, ref, `Merge loops run ${ref.run} of ${ref.loop} (${ref.branch})`),
      ),
    discardCost: (ref) => discardCost(repoRoot, ref),
    discard: (ref) => decided(ref, 'discarded', discardRun(repoRoot, ref)),
  };
}

/** Appends the decision to the run's trace, after its last event (a run with no trace gets none). */
async function recordDecision(
  repoRoot: string,
  ref: RunRef,
  decision: 'merged' | 'discarded',
  detail: string,
): Promise<void> {
  const file = statePaths(repoRoot).trace(ref.loop, ref.run);
  const last = (await readTrace(file)).at(-1);
  if (last === undefined) return;
  const event: LoopEvent = {
    loop: ref.loop,
    run: ref.run,
    iteration: last.iteration,
    time: new Date().toISOString(),
    seq: last.seq + 1,
    span: `run:${ref.run}`,
    type: 'review.decided',
    decision,
    branch: ref.branch,
    detail,
  };
  const writer = await TraceWriter.open(file);
  try {
    await writer.append(event);
  } finally {
    await writer.close();
  }
}
