/**
 * Runs a grader's sub-agent (the checker) as an agent turn of its own: its own conversation, the review
 * step's model, read-only tools, and the run's caps, safe points and trace. The toolbox holds no tool
 * that writes, and every path is protected as well, so nothing it does can change the worktree.
 */
import type { ToolName } from '../definition/schema.js';
import type { ModelStep } from '../events.js';
import { createToolbox } from '../../tools/toolbox.js';
import { runAgentTurn, type TurnDeps } from '../run/agent-turn.js';
import type { RunControl } from '../run/control.js';
import type { CallOptions, ModelCaller } from '../run/model-caller.js';
import { describeBreach } from '../budget/caps.js';
import { READ_ONLY_TOOLS } from './checker.js';
import type { SubAgentRequest, SubAgentResult } from './grader.js';

const READ_ONLY: ReadonlySet<ToolName> = new Set(READ_ONLY_TOOLS);

export class WriteToolRefusedError extends Error {}

/** The run's caller with every call sent as `step` (and to `model` when given). */
function routedCaller(caller: ModelCaller, step: ModelStep, model: string | undefined): ModelCaller {
  // Inherits everything from the run's caller (caps, ledger, trace); only the step and model differ.
  const routed = Object.create(caller) as ModelCaller;
  // A person's `!` never aborts a non-work step (ModelCaller uses the stop signal for those).
  routed.call = (opts: CallOptions) => caller.call({ ...opts, step, ...(model ? { model } : {}) });
  return routed;
}

/**
 * The run's control as the sub-agent sees it: stops and pauses reach it, but a person's urgent
 * instructions do not. They are meant for the agent, and the sub-agent must not take them.
 */
function withoutInstructions(control: RunControl): RunControl {
  const quiet = Object.create(control) as RunControl;
  Object.defineProperties(quiet, {
    stopSignal: { get: () => control.stopSignal },
    stopRequested: { get: () => control.stopRequested },
    stopMessage: { get: () => control.stopMessage },
    isPaused: { get: () => control.isPaused },
    hasUrgent: { get: () => false },
    takeUrgent: { value: (): string[] => [] },
    takeQueued: { value: (): string[] => [] },
    waitWhilePaused: { value: () => control.waitWhilePaused() },
    callSignal: { value: () => control.callSignal() },
    stop: { value: (reason?: string) => control.stop(reason) },
    pause: { value: () => control.pause() },
    resume: { value: () => control.resume() },
    instruct: { value: (text: string, now: boolean) => control.instruct(text, now) },
  });
  return quiet;
}

export async function runSubAgentTurn(deps: TurnDeps, request: SubAgentRequest): Promise<SubAgentResult> {
  const writers = request.tools.filter((name) => !READ_ONLY.has(name));
  if (writers.length > 0) {
    throw new WriteToolRefusedError(
      `a grader's sub-agent may only read; refused the tools ${writers.join(', ')}`,
    );
  }
  const turn = await runAgentTurn(
    {
      ...deps,
      caller: routedCaller(deps.caller, 'review', request.model),
      control: withoutInstructions(deps.control),
      tools: createToolbox(request.tools),
      toolContext: { ...deps.toolContext, protectedPaths: ['**'] },
      ...(request.finish ? { finish: request.finish } : {}),
    },
    request.system,
    request.user,
  );
  switch (turn.kind) {
    case 'done':
      return { kind: 'done', text: turn.text, ...(turn.finish ? { finish: turn.finish } : {}) };
    case 'budget':
      return { kind: 'budget', message: describeBreach(turn.breach) };
    case 'stopped':
      return { kind: 'stopped', message: 'the run was stopped' };
    case 'failed':
      return { kind: 'failed', message: `the model call failed (${turn.error.kind}): ${turn.error.message}` };
  }
}
