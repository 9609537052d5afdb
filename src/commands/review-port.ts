/** The screen's ReviewPort, implemented with workspace/review.ts on the repository's own git. */
import type { ReviewPort } from '../ui/review-port.js';
import { discardCost, discardRun, mergeRun, runDiff } from '../workspace/review.js';

export function gitReviewPort(repoRoot: string): ReviewPort {
  return {
    diff: (ref) => runDiff(repoRoot, ref),
    merge: (ref) => mergeRun(repoRoot, ref, `Merge loops run ${ref.run} of ${ref.loop} (${ref.branch})`),
    discardCost: (ref) => discardCost(repoRoot, ref),
    discard: (ref) => discardRun(repoRoot, ref),
  };
}
