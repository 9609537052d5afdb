/** Graders check a run's work; authors never grade their own work. */
import type { LoopDefinition, ToolName } from '../definition/schema.js';
import type { GraderVerdict, LoopEventBody, ToolCallRecord } from '../events.js';
import type { Message, ToolSpec } from '../../models/provider.js';
import type { Worktrees } from '../../workspace/worktrees.js';
import type { CallOptions, CallResult } from '../run/model-caller.js';
import type { Sandbox } from '../../process/sandbox.js';

/** A separate agent with its own conversation (a checker); never the author's. */
export interface SubAgentRequest {
  system: string;
  user: string;
  /** Read-only tools only: a write tool here is refused before anything runs. */
  tools: readonly ToolName[];
  /** Overrides the routed review model. */
  model?: string;
  /**
   * A tool whose call ends the sub-agent's turn (a checker's verdict): offered beside the others, never
   * run; its call comes back in the result. A sub-agent that stops without calling it is asked once
   * more with the call forced, saying so in `prompt`.
   */
  finish?: { tool: ToolSpec; prompt: string };
}

export type SubAgentResult =
  | { kind: 'done'; text: string; finish?: ToolCallRecord }
  | { kind: 'budget' | 'stopped' | 'failed'; message: string };

export interface GradeContext {
  worktree: string;
  /** The commit the run started from, for diffs. */
  baseSha: string;
  /** Aborted when a person stops the run. */
  signal?: AbortSignal;
  loop: string;
  run: string;
  iteration: number;
  /** The loop's task prompt. */
  task: string;
  /** The loop as loaded: rubric criteria, routed models, the loop folder. */
  definition: LoopDefinition;
  /**
   * The author's conversation this iteration. A judge may show a bounded excerpt of it, marked as
   * untrusted; a checker agent never sees it.
   */
  transcript: readonly Message[];
  /** Model calls through the run's caps, ledger and trace (a judge uses step 'review'). */
  callModel: (opts: CallOptions) => Promise<CallResult>;
  /** Runs a checker agent (step 'review') through the run's caps; its tool calls go to the trace. */
  runSubAgent: (request: SubAgentRequest) => Promise<SubAgentResult>;
  /** Adds an event to the run's trace (metric graders: `metric.recorded`). */
  emit: (body: LoopEventBody) => void;
  /** state/NAME/results.tsv, the metric graders' keep/discard ledger. */
  resultsPath: string;
  worktrees: Worktrees;
  /**
   * The protected globs. When given, they are put back from the base before each grader after the
   * first (one grader runs worktree code that could rewrite the next one's script).
   */
  protectedPaths?: readonly string[];
  /** Where command and metric graders run the agent's code (process/sandbox.ts); unconfined when not given. */
  sandbox?: Sandbox;
}

export interface Grader {
  readonly name: string;
  readonly kind: string;
  /** A holdout grader's feedback never reaches the agent. */
  readonly holdout: boolean;
  grade(ctx: GradeContext): Promise<GraderVerdict>;
  /**
   * Called once before the first iteration, while the worktree is still the unmodified base: a grader
   * that compares attempts with the original (a metric's baseline) measures it here.
   */
  prepare?(ctx: GradeContext): Promise<void>;
}
