/**
 * The one vocabulary between the engine, the trace file, the ledger and the UI.
 *
 * Every event carries enough to be understood alone (loop, run, iteration, time, span), so a
 * trace file can be replayed into the UI store and reducers stay idempotent.
 */

export type Outcome = 'verified' | 'budget' | 'stalled' | 'stopped' | 'failed';

export type BudgetCap = 'iterations' | 'tool_calls' | 'usd' | 'tokens' | 'minutes';

export type ModelStep = 'work' | 'triage' | 'summary' | 'review';

export interface TokenUsage {
  /** Input tokens billed at the full rate (cache reads and writes excluded). */
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface ToolCallRecord {
  id: string;
  name: string;
  input: unknown;
}

export interface GraderVerdict {
  name: string;
  kind: string;
  passed: boolean;
  /** 0..1 when the grader scores; absent for pass/fail graders. */
  score?: number;
  /** What the next iteration is told (already compact). */
  feedback: string;
  /** Test counts parsed from the output, a progress signal. */
  tests?: { passed: number; failed: number };
  /** Set when the grader itself could not run: never a pass. */
  error?: string;
  durationMs: number;
}

export interface EventBase {
  loop: string;
  run: string;
  /** 0 before the first iteration starts. */
  iteration: number;
  /** ISO-8601 time the event was emitted. */
  time: string;
  /** Monotonic per run, from 1. */
  seq: number;
  /** Span id: the run, the iteration, the model call or the tool call this event belongs to. */
  span: string;
  parentSpan?: string;
}

export type LoopEventBody =
  | {
      type: 'run.started';
      trigger: string;
      base: string;
      branch: string;
      worktree: string;
      budget: Record<BudgetCap, number | null>;
    }
  | { type: 'iteration.started' }
  | {
      type: 'context.assembled';
      /** Character sizes of each part, to see what the context is made of. */
      parts: Record<string, number>;
      instructions: string[];
    }
  | { type: 'model.request'; provider: string; model: string; step: ModelStep; messages: number }
  | { type: 'model.delta'; text: string }
  | {
      type: 'model.response';
      provider: string;
      model: string;
      step: ModelStep;
      text: string;
      toolCalls: ToolCallRecord[];
      stopReason: string;
      usage: TokenUsage;
      durationMs: number;
    }
  | { type: 'tool.call'; callId: string; name: string; input: unknown }
  | {
      type: 'tool.result';
      callId: string;
      name: string;
      ok: boolean;
      /** Output as returned to the model (capped). */
      output: string;
      durationMs: number;
    }
  | { type: 'grader.started'; grader: string; kind: string }
  | ({ type: 'grader.result' } & GraderVerdict)
  | { type: 'iteration.ended'; verified: boolean; passed: string[]; failed: string[] }
  | { type: 'memory.updated'; path: string; bytes: number }
  | { type: 'instruction.received'; text: string; mode: 'next' | 'now' }
  | { type: 'run.paused' }
  | { type: 'run.resumed' }
  | { type: 'run.error'; kind: string; message: string }
  | {
      type: 'run.ended';
      outcome: Outcome;
      reason: string;
      iterations: number;
      toolCalls: number;
      usage: TokenUsage;
      branch: string;
      worktree: string;
      budget?: { cap: BudgetCap; limit: number; used: number };
      durationMs: number;
    };

export type LoopEvent = EventBase & LoopEventBody;
export type LoopEventType = LoopEvent['type'];
export type EventOf<T extends LoopEventType> = Extract<LoopEvent, { type: T }>;

export type EventListener = (event: LoopEvent) => void;

export const OUTCOME_EXIT_CODES: Record<Outcome, number> = {
  verified: 0,
  failed: 1,
  budget: 3,
  stalled: 4,
  stopped: 5,
};

export const EXIT_BAD_DEFINITION = 2;

export function emptyUsage(): TokenUsage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
}
