/**
 * The one vocabulary between the engine, the trace file, the ledger and the UI.
 *
 * Every event carries enough to be understood alone (loop, run, iteration, time, span), so a
 * trace file can be replayed into the UI store and reducers stay idempotent.
 */

export type Outcome = 'verified' | 'budget' | 'stalled' | 'stopped' | 'failed';

export type BudgetCap = 'iterations' | 'tool_calls' | 'usd' | 'tokens' | 'minutes';

/** `analyst`: a hill-climb proposal's analysis (outside any run of the loop, priced under its own step). */
export type ModelStep = 'work' | 'triage' | 'summary' | 'review' | 'analyst';

/** How a run's commands are confined (process/sandbox.ts): off, a sandbox of loops', or a CLI agent's own. */
export type ConfinementKind = 'bubblewrap' | 'seatbelt' | 'off' | 'claude-code' | 'codex';

import type { GoalProgress } from './control.js';
import type { TriggerContext, TriggerKind } from './trigger-context.js';
import type { ProposalStatus } from './proposals.js';

export interface TokenUsage {
  /** Input tokens billed at the full rate (cache reads and writes excluded). */
  input: number;
  /** Output tokens billed, reasoning included. */
  output: number;
  cacheRead: number;
  /** Cache writes of every TTL. */
  cacheWrite: number;
  /** The part of cacheWrite written with the 1-hour TTL (priced higher than 5-minute writes). */
  cacheWrite1h?: number;
  /** The part of output spent on reasoning. */
  reasoning?: number;
}

export interface RunSpend {
  usd: number;
  unpricedCalls: number;
}

export type ErrorClass =
  'tool_failure' | 'malformed_output' | 'provider_error' | 'grader_failure' | 'grader_regression';

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

/**
 * Where an event comes from. Run events (the default when absent) belong to one run; supervisor,
 * trigger and hill-climb events have their own stream id in `run` (e.g. `supervisor`) with its own seq,
 * so the store's de-duplication by (run, seq) holds for them too.
 */
export type EventSource = 'run' | 'supervisor' | 'trigger' | 'hillclimb' | 'fleet';

/** What the stall detector read off one iteration: verifier movement and repetition, never the text. */
export interface ProgressSignals {
  /** The committed diff differs from every earlier one of this run. */
  newDiff: boolean;
  /** The committed diff equals one seen earlier in this run (returning to it is not progress). */
  returnedToEarlierDiff: boolean;
  testsMoved: boolean;
  scoresMoved: boolean;
  metricBestMoved: boolean;
  /** Error signatures not seen before / seen before. */
  newErrors: number;
  repeatedErrors: number;
  /** The turn's tool calls (a canonical multiset of name + arguments) repeat an earlier turn's. */
  repeatedToolCalls: boolean;
  /** The turns' tool calls cycle (A,B,A,B). */
  cycle: boolean;
}

export type StallAction = 'nudge' | 'pause' | 'stop';

export interface EventBase {
  /** Absent means 'run'. */
  source?: EventSource;
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
      /** The branch `base` named when the run started (a bare HEAD resolved); absent when it named a commit. */
      baseBranch?: string;
      /** The commit the run's branch started from: its diff is taken against it. */
      baseSha?: string;
      branch: string;
      worktree: string;
      budget: Record<BudgetCap, number | null>;
      /** How the run's commands are confined (process/sandbox.ts); absent in traces older than the sandbox. */
      sandbox?: { kind: ConfinementKind; description: string };
      /** The trace's format version (state/trace.ts TRACE_FORMAT); absent in traces from before it (1). */
      format?: number;
      /** What started the run (core/trigger-context.ts); absent in traces from before triggers. */
      context?: TriggerContext;
      /** `loops resume`: the run this one continues, and what it carried over. */
      resumedFrom?: string;
      restored?: {
        iterations: number;
        toolCalls: number;
        usage: TokenUsage;
        spend: RunSpend;
        commit: string;
      };
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
  /** Old tool results were cut from the conversation to keep it under the context budget. */
  | { type: 'context.trimmed'; trimmed: number; tokensBefore: number; tokensAfter: number }
  | {
      type: 'model.response';
      provider: string;
      model: string;
      step: ModelStep;
      text: string;
      toolCalls: ToolCallRecord[];
      stopReason: string;
      usage: TokenUsage;
      /** The call's price in USD; null when the model is not in the price table (unpriced, never $0). */
      usd?: number | null;
      durationMs: number;
    }
  /** Caching was expected (a long stable prefix) but the provider reported no cache reads or writes. */
  | { type: 'cache.missed'; model: string; prefixTokens: number; reason: string }
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
  /** A grader that passed earlier fails now; `diff` is the change since it last passed. */
  | { type: 'grader.regression'; grader: string; passedAt: number; diff: string }
  /** A classified error, with a signature so repeats are recognised across iterations and runs. */
  | {
      type: 'error.recorded';
      class: ErrorClass;
      signature: string;
      message: string;
      repeated: boolean;
      /** How many times this signature has been seen, this one included. */
      count: number;
    }
  /** Metric loops: one attempt's value and what was done with its commit. */
  | {
      type: 'metric.recorded';
      grader: string;
      value: number | null;
      status: 'baseline' | 'keep' | 'discard' | 'crash';
      commit: string;
      best: number | null;
    }
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
      /** Dollars of the priced calls, and how many calls could not be priced (their dollars are unknown). */
      spend: RunSpend;
      branch: string;
      worktree: string;
      budget?: { cap: BudgetCap; limit: number; used: number };
      durationMs: number;
    }
  /** A tool call matched an `approve:` rule and waits at its safe point for a person. */
  | {
      type: 'approval.requested';
      approvalId: string;
      callId: string;
      tool: string;
      input: unknown;
      /** The rule that matched, as written in LOOP.md, and the part of the call it matched. */
      rule: string;
      matched: string;
      /** How long it waits before it is denied; null when it waits until answered or stopped. */
      timeoutMs: number | null;
    }
  | {
      type: 'approval.resolved';
      approvalId: string;
      callId: string;
      approved: boolean;
      by: 'person' | 'headless' | 'timeout' | 'stop';
      /** For a denial, what the model is told as the tool's error. */
      reason: string;
    }
  /** One iteration's progress signals, and whether they count as progress. */
  | {
      type: 'stall.signals';
      progress: boolean;
      signals: ProgressSignals;
      /** Iterations in a row without progress, this one included. */
      quiet: number;
      window: number;
    }
  | { type: 'stall.detected'; reason: string; window: number; action: StallAction }
  | { type: 'stall.cleared'; reason: string }
  /** A supervisor event: the answer to a command (started, queued, done, refused). */
  | {
      type: 'command.replied';
      id: string;
      command: string;
      ok: boolean;
      status: 'started' | 'queued' | 'done' | 'refused';
      reason: string;
      target?: string;
    }
  /** `workspace.setup`: one command starts in the new worktree, before the first iteration. */
  | { type: 'setup.started'; command: string; index: number }
  | {
      type: 'setup.result';
      command: string;
      index: number;
      ok: boolean;
      exitCode: number | null;
      /** What it printed (capped, head and tail). */
      output: string;
      durationMs: number;
    }
  /** An MCP server of the loop is up, with the tools it offers the model. */
  | { type: 'connector.started'; server: string; transport: 'stdio' | 'http'; tools: string[] }
  /** What an MCP server wrote on stderr (kept out of the screen, in the trace). */
  | { type: 'connector.log'; server: string; text: string }
  /** A supervisor event: the starts waiting behind the limit on runs at once, in order. */
  | { type: 'queue.changed'; queue: Array<{ loop: string; trigger: string; since: string }> }
  /**
   * A model call failed in a way worth another try (a 429, a 5xx, a connection that broke off, a
   * timeout): loops waits `waitMs`, then makes the next attempt, a call of its own with its own
   * model.request, checked against the caps like any other.
   */
  | {
      type: 'provider.retry';
      provider: string;
      model: string;
      step: ModelStep;
      /** The attempt that failed, from 1. */
      attempt: number;
      /** The HTTP status, when the API answered with one. */
      status?: number;
      /** What failed, as a ProviderError kind: rate_limit, overloaded, server, connection, timeout. */
      kind: string;
      waitMs: number;
      /** The API's own wait (retry-after), or loops' exponential back-off. */
      waitFrom: 'retry-after' | 'backoff';
      reason: string;
      /** What the failed attempt used: on its model.response, or unknown (the provider never said). */
      usage: 'recorded' | 'unknown';
    }
  /**
   * The iteration's work as committed on the run's branch, just before `iteration.ended`: `tree` is
   * the git tree at the iteration's end (equal trees are equal diffs), `baseTree` the run's base.
   */
  | { type: 'iteration.committed'; commit: string; tree: string; baseTree: string }
  /**
   * `loops clean --older-than`: the trace's bulky detail (streamed text, tool inputs and outputs,
   * reply text) was pruned; every event is still there, so counts and outcomes read the same.
   */
  | { type: 'trace.compacted'; olderThanDays: number; bytesBefore: number; bytesAfter: number }
  /**
   * A person's review decision on a finished run (the screen's review pane): its branch merged into
   * the branch it started from, or discarded. Appended to the run's trace after it ended; a discard
   * is a correction hill-climbing learns from.
   */
  | { type: 'review.decided'; decision: 'merged' | 'discarded'; branch: string; detail: string }
  /**
   * A trigger event (source `trigger`): something happened that may start a run (a cron time, file
   * changes, a webhook, a goal's restart). `status` is what the start command's reply said, or
   * `skipped` when triage, the overlap rule or a repeated delivery let it go; `reason` says why.
   */
  | {
      type: 'trigger.fired';
      trigger: TriggerKind;
      detail: string;
      status: 'started' | 'queued' | 'refused' | 'skipped';
      reason: string;
      /** The start command's id (its `command.replied`), when one was sent. */
      command?: string;
      /** The run it started, when it started one. */
      target?: string;
    }
  /** A trigger's triage call decided (source `trigger`): one cheap call, priced under step `triage`. */
  | {
      type: 'triage.decided';
      trigger: TriggerKind;
      decision: 'run' | 'skip';
      reason: string;
      model: string;
      usd: number | null;
    }
  /** A goal's progress across its runs changed (source `trigger`). */
  | { type: 'goal.progress'; progress: GoalProgress }
  /** A cron schedule's next due time (source `trigger`), after it fired or was (re)loaded. */
  | { type: 'schedule.next'; nextDue: string | null }
  /** The loops were reloaded (a LOOP.md edited, added or removed), by the supervisor. */
  | { type: 'loops.changed'; added: string[]; removed: string[]; changed: string[] }
  /**
   * The fleet's caps across all loops (source `fleet`): `waiting` while calls and new runs are held
   * back (the reason says which cap), `released` when they go on, `warning` at 80% and 100%, once each.
   */
  | {
      type: 'fleet.status';
      state: 'waiting' | 'released' | 'warning';
      cap: 'daily_usd' | 'burn_usd_per_hour';
      used: number;
      limit: number;
      reason: string;
    }
  /** An outbound notification was delivered or gave up after its retries (source `fleet`). */
  | { type: 'notify.sent'; about: string; status: number; attempts: number }
  | { type: 'notify.failed'; about: string; reason: string; attempts: number }
  /** A hill-climb proposal was made, evaluated or decided (source `hillclimb`). */
  | {
      type: 'proposal.changed';
      id: string;
      status: ProposalStatus | 'analysing' | 'evaluating';
      file: string;
      reason: string;
    }
  /**
   * A webhook delivery refused before it could start anything (source `trigger`): a bad or missing
   * signature (401), no secret in loops' environment (503), a body too large (413) or empty (400).
   * Neither the body nor the signature is ever recorded.
   */
  | {
      type: 'webhook.refused';
      hook: string;
      status: number;
      reason: string;
      /** The sender's delivery id (an unsigned header: what the request claimed). */
      delivery?: string;
    }
  /** A hill-climb analysis or evaluation ended without a proposal (source `hillclimb`): why. */
  | { type: 'proposal.failed'; id: string; reason: string };

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
  const sum: TokenUsage = {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
  if (a.cacheWrite1h !== undefined || b.cacheWrite1h !== undefined) {
    sum.cacheWrite1h = (a.cacheWrite1h ?? 0) + (b.cacheWrite1h ?? 0);
  }
  if (a.reasoning !== undefined || b.reasoning !== undefined)
    sum.reasoning = (a.reasoning ?? 0) + (b.reasoning ?? 0);
  return sum;
}

export function totalTokens(u: TokenUsage): number {
  return u.input + u.output + u.cacheRead + u.cacheWrite;
}
