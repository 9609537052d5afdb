/** Why a grader's model call or sub-agent gave no answer, in words for the verdict's error. */
import { describeBreach } from '../budget/caps.js';
import type { CallResult } from '../run/model-caller.js';

export function callFailure(result: Exclude<CallResult, { kind: 'ok' }>): string {
  switch (result.kind) {
    case 'budget':
      return `no answer: ${describeBreach(result.breach)}`;
    case 'stopped':
      return 'no answer: the run was stopped';
    case 'interrupted':
      return 'no answer: the call was interrupted by a person';
    case 'failed':
      return `the model call failed (${result.error.kind}): ${result.error.message}`;
  }
}
