/**
 * What one run of a loop is made of when the supervisor starts it: its sandbox, provider,
 * graders, approval gate, the instructions kept for it, and the observers (telemetry) the
 * supervisor adds. The supervisor keeps the run's place in the limit; this builds and starts it.
 */
import type { LoopDefinition } from './definition/schema.js';
import type { RunSnapshot } from './control.js';
import type { LoopEvent } from './events.js';
import { ApprovalGate } from './approval/gate.js';
import { loopProvider } from './run/loop-provider.js';
import { RunControl } from './run/control.js';
import { executeRun, type ResumePoint, type RunResult } from './run/run.js';
import { createGraders } from './verify/index.js';
import { trackRun } from './supervisor-view.js';
import type { TriggerContext } from './trigger-context.js';
import type { Worktrees } from '../workspace/worktrees.js';
import type { StatePaths } from '../state/paths.js';
import type { StateIndex } from '../state/index-db.js';
import type { Telemetry } from '../telemetry/setup.js';
import type { SpendLedger } from '../state/spend-ledger.js';
import { RunSandbox } from '../process/run-sandbox.js';
import type { SupervisorOptions } from './supervisor.js';

/** What every run of one supervisor shares. */
export interface LaunchDeps {
  repoRoot: string;
  paths: StatePaths;
  worktrees: Worktrees;
  index: StateIndex;
  options: SupervisorOptions;
  telemetry: Telemetry | undefined;
  ledger: SpendLedger | undefined;
  publish: (event: LoopEvent) => void;
}

export interface LaunchedRun {
  id: string;
  control: RunControl;
  done: Promise<RunResult>;
  gate: ApprovalGate;
  /** What the supervisor's snapshot says of the run, kept current from its events. */
  view: RunSnapshot;
}

export interface LaunchRequest {
  loop: string;
  definition: LoopDefinition;
  runId: string;
  trigger: string;
  /** Instructions a person gave the loop while no run was in flight. */
  instructions: readonly string[];
  resume?: ResumePoint;
  context?: TriggerContext;
}

export function launchRun(deps: LaunchDeps, request: LaunchRequest): LaunchedRun {
  const { options } = deps;
  const def = request.definition;
  const runId = request.runId;
  const control = new RunControl();
  for (const text of request.instructions) control.instruct(text, false);
  const env = options.env ?? process.env;
  const attended = options.attended ?? false;
  const gate = ApprovalGate.forDefinition(def, runId, attended);
  const view: RunSnapshot = {
    loop: request.loop,
    run: runId,
    trigger: request.trigger,
    startedAt: new Date().toISOString(),
    iteration: 0,
    status: 'running',
  };
  const done = executeRun({
    definition: def,
    runId,
    trigger: request.trigger,
    openSandbox: () => RunSandbox.open({ definition: def, repoRoot: deps.repoRoot, env, ...options.sandbox }),
    attended,
    approvals: gate,
    createProvider: (sandbox) =>
      loopProvider(def, env, {
        sandbox,
        ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
        ...(options.wrapProvider ? { wrap: options.wrapProvider } : {}),
      }),
    createGraders: () => createGraders(def),
    worktrees: deps.worktrees,
    paths: deps.paths,
    index: deps.index,
    control,
    env,
    onEvent: (event) => {
      trackRun(view, event);
      deps.publish(event);
    },
    observers: ({ definition }) => (deps.telemetry ? [deps.telemetry.observer(definition)] : []),
    ...(options.price ? { price: options.price } : {}),
    ...(deps.ledger ? { ledger: deps.ledger } : {}),
    ...(request.resume ? { resume: request.resume } : {}),
    ...(request.context ? { context: request.context } : {}),
    ...(options.callGate ? { callGate: options.callGate } : {}),
  });
  return { id: runId, control, done, gate, view };
}
