/**
 * The one interface every model provider sits behind. The engine speaks only this; providers
 * translate to and from their wire protocol and never write traces themselves.
 */
import type { ModelStep, TokenUsage, ToolCallRecord } from '../core/events.js';

/** JSON Schema for a tool's input (what both APIs take). */
export type JsonSchema = Record<string, unknown>;

export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: JsonSchema;
}

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ToolUsePart {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResultPart {
  type: 'tool_result';
  toolUseId: string;
  content: string;
  isError: boolean;
}

/**
 * Which tool the model must call. `auto` (the default) leaves it free to call any tool or none; `tool`
 * forces one call to the named tool, whose input is then structured output the API has shaped to the
 * tool's schema. A judge's verdict comes back this way, never read out of free text.
 */
export type ToolChoice = { type: 'auto' } | { type: 'tool'; name: string };

export type Message =
  | { role: 'user'; content: Array<TextPart | ToolResultPart> }
  | { role: 'assistant'; content: Array<TextPart | ToolUsePart> };

export interface ModelRequest {
  model: string;
  /**
   * The stable prefix (task, skills, rules). Byte-identical from iteration to iteration so it can be
   * cached; everything that changes (memory, feedback, instructions) goes in the messages.
   */
  system: string;
  messages: Message[];
  tools: ToolSpec[];
  /** Absent: `auto`. A forced tool must be one of `tools`. */
  toolChoice?: ToolChoice;
  maxTokens: number;
  step: ModelStep;
  /** Stable per loop; used as a cache routing key where the provider supports one. */
  cacheKey?: string;
  signal?: AbortSignal;
  /**
   * How long to wait for the response to start, in milliseconds: set by the caller from the time
   * left in the minutes budget. API providers only; a timeout is a `timeout` error.
   */
  timeoutMs?: number;
  /** Called with text as it arrives, for providers that stream. */
  onText?: (delta: string) => void;
  /** Where a CLI agent provider runs (the run's worktree); API providers ignore it. */
  cwd?: string;
  /**
   * Called by CLI agent providers (claude-code, codex), which make their own tool calls inside one
   * complete(), so those calls still reach the trace. Any provider may report `usage` through it as
   * the usage arrives, so the caps see a long call's spend, and an aborted call's spend is not lost.
   */
  onEvent?: (event: ProviderEvent) => void;
}

/**
 * What a CLI agent did inside one complete(): its own tool calls and results, and its text; and, from
 * any provider, the usage so far.
 */
export type ProviderEvent =
  | { kind: 'tool.call'; callId: string; name: string; input: unknown }
  | { kind: 'tool.result'; callId: string; name: string; ok: boolean; output: string }
  | { kind: 'text'; text: string }
  | {
      kind: 'usage';
      /** Everything this attempt has used so far: a running total that replaces the last one, not an increment. */
      usage: TokenUsage;
      /** The provider's own price of that usage, when it reports one (Claude Code's result). */
      usd?: number;
      /** The model the usage was billed to, when the provider says (for the price table). */
      model?: string;
    };

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'refusal' | 'other';

export interface ModelResponse {
  /** The model id the provider reports (may differ from the requested alias). */
  model: string;
  text: string;
  toolCalls: ToolCallRecord[];
  stopReason: StopReason;
  usage: TokenUsage;
  /** The call's cost as the provider itself reports it (Claude Code); used instead of the price table. */
  usd?: number;
  /** The usage is a local token count, not what the provider billed: the call stays unpriced. */
  estimated?: boolean;
}

export interface ModelProvider {
  readonly name: string;
  /**
   * How many times the caller may retry a call that failed in a retryable way (a 429, a 5xx, a
   * connection that broke off). The API providers make no retries of their own, so every attempt is
   * a call the caps see. Absent (0) for CLI agents: a session is never re-run from scratch.
   */
  readonly maxRetries?: number;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

export type ProviderErrorKind =
  | 'missing_key'
  | 'auth'
  | 'rate_limit'
  | 'overloaded'
  | 'bad_request'
  | 'connection'
  /** No answer within the request's timeout. */
  | 'timeout'
  | 'server'
  | 'malformed'
  | 'aborted'
  | 'config';

/** What a call that did not complete had used when it ended: billed all the same. */
export interface PartialSpend {
  usage: TokenUsage;
  /** The model it was billed to, when the provider said. */
  model?: string;
}

/** A provider failure the engine can act on: `retryable` says whether trying later may help. */
export class ProviderError extends Error {
  /**
   * Set by a provider that saw usage before the call failed or was aborted (Anthropic's stream reports
   * the input at its start); absent when what the call used cannot be known.
   */
  spent?: PartialSpend;
  /** The HTTP status the API answered with, when it did. */
  status?: number;
  /** How long the API asked to wait before trying again (retry-after), in milliseconds. */
  retryAfterMs?: number;

  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly provider: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}
