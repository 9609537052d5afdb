/**
 * The Anthropic Messages API behind ModelProvider, through the official SDK's streaming helper.
 *
 * The SDK reads ANTHROPIC_* variables from process.env whenever an option is left out, so the key and
 * base URL are always passed explicitly: the run's env (opts.env) is the only source.
 */
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type { ToolCallRecord } from '../core/events.js';
import { AnthropicStreamWatch } from './anthropic-stream-watch.js';
import { fromAnthropicUsage } from './anthropic-usage.js';
import { baseUrlFrom, readVar } from './env.js';
import {
  abortedError,
  apiError,
  classifyErrorType,
  classifyStatus,
  connectionError,
  headersOf,
  isAbortError,
  isMalformedBody,
  malformedError,
  timeoutError,
  type ProviderLabel,
} from './errors.js';
import {
  ProviderError,
  type Message,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type StopReason,
  type ToolSpec,
} from './provider.js';

export const ANTHROPIC_API_URL = 'https://api.anthropic.com';

export interface AnthropicProviderOptions {
  /** Where ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN / ANTHROPIC_BASE_URL are read from. */
  env: NodeJS.ProcessEnv;
  /** Overrides env.ANTHROPIC_BASE_URL; without `/v1`, which the SDK adds. */
  baseUrl?: string;
  /**
   * How many times the caller (ModelCaller) retries a call that failed in a retryable way; the SDK
   * itself never retries, so each attempt is a call the caps, the trace and the ledger see.
   */
  maxRetries?: number;
  /** Mark the request for prompt caching (default true); false sends no cache_control at all. */
  cache?: boolean;
}

const CACHE = { type: 'ephemeral' } as const;

/** The SDK's own default, now made by the caller. */
const DEFAULT_RETRIES = 2;

/** The API rejects a request with more cache_control blocks than this. */
export const MAX_CACHE_BREAKPOINTS = 4;

export class AnthropicProvider implements ModelProvider {
  readonly name = 'anthropic';
  readonly maxRetries: number;
  private readonly client: Anthropic;
  private readonly label: ProviderLabel;
  private readonly cache: boolean;

  constructor(opts: AnthropicProviderOptions) {
    this.cache = opts.cache ?? true;
    this.maxRetries = opts.maxRetries ?? DEFAULT_RETRIES;
    const apiKey = readVar(opts.env, 'ANTHROPIC_API_KEY');
    const authToken = apiKey ? undefined : readVar(opts.env, 'ANTHROPIC_AUTH_TOKEN');
    if (!apiKey && !authToken) {
      throw new ProviderError(
        'missing_key',
        'ANTHROPIC_API_KEY is not set: export it, or use provider: scripted for an offline run',
        this.name,
      );
    }
    const baseUrl = baseUrlFrom(opts.baseUrl, opts.env, 'ANTHROPIC_BASE_URL', this.name) ?? ANTHROPIC_API_URL;
    this.label = {
      name: this.name,
      title: 'Anthropic',
      keyVariable: apiKey ? 'ANTHROPIC_API_KEY' : 'ANTHROPIC_AUTH_TOKEN',
      baseUrlVariable: 'ANTHROPIC_BASE_URL',
      baseUrl,
      secret: apiKey ?? authToken,
    };
    // One credential only: passing one keeps the SDK from looking in process.env for the other.
    this.client = new Anthropic({
      ...(apiKey ? { apiKey } : { authToken }),
      baseURL: baseUrl,
      // Retries are the caller's (ModelCaller): an SDK retry would be a call no cap, trace or stop sees.
      maxRetries: 0,
      // The default logger is console, whose lines would land in the middle of the TUI.
      logLevel: 'off',
    });
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    if (request.signal?.aborted) throw abortedError(this.label);
    const params = toAnthropicParams(request, { cache: this.cache });
    const stream = this.client.messages.stream(params, {
      signal: request.signal,
      ...(request.timeoutMs === undefined ? {} : { timeout: request.timeoutMs }),
    });
    let connected = false;
    stream.on('connect', () => (connected = true));
    const watch = new AnthropicStreamWatch();
    stream.on('streamEvent', watch.see);
    const onText = request.onText;
    if (onText) stream.on('text', (delta) => onText(delta));
    try {
      // Tool inputs are checked against what arrived, not the SDK's repair of a cut-off one.
      return watch.refuseCutOff(fromAnthropicMessage(await stream.finalMessage()));
    } catch (error) {
      // A tool call with input that is not JSON: the message so far, that call marked for the loop.
      const salvaged = watch.salvage(error);
      if (salvaged) return salvaged;
      const failure = this.toProviderError(error, request, connected);
      // The input tokens reported at the start are billed though the call did not complete.
      if (watch.spent) failure.spent = watch.spent;
      throw failure;
    }
  }

  private toProviderError(error: unknown, request: ModelRequest, connected: boolean): ProviderError {
    if (error instanceof ProviderError) return error;
    if (error instanceof APIUserAbortError || isAbortError(error) || request.signal?.aborted) {
      return abortedError(this.label, error);
    }
    if (error instanceof APIConnectionTimeoutError) return timeoutError(this.label, request.timeoutMs, error);
    if (error instanceof APIError && !(error instanceof APIConnectionError)) {
      // An error event inside the stream has no status, only the error type.
      const status = typeof error.status === 'number' ? error.status : undefined;
      const classified = status === undefined ? classifyErrorType(error.type) : classifyStatus(status);
      return apiError(
        this.label,
        classified,
        error.apiMessage ?? error.message,
        status,
        error,
        headersOf(error),
      );
    }
    if (isMalformedBody(error)) {
      return malformedError(this.label, error instanceof Error ? error.message : String(error), error);
    }
    // No answer, or a stream that ended early (a reset socket, "request ended without sending any
    // chunks"): trying again is the usual cure.
    const detail = error instanceof Error ? error.message : String(error);
    return connectionError(this.label, detail, connected, error);
  }
}

export function toAnthropicParams(
  request: ModelRequest,
  { cache = true }: { cache?: boolean } = {},
): Anthropic.MessageStreamParams {
  const { messages, userTurns } = toAnthropicMessages(request.messages);
  const params: Anthropic.MessageStreamParams = {
    model: request.model,
    max_tokens: request.maxTokens,
    messages,
  };
  // Tools then system form the stable prefix; a breakpoint after each caches it across calls.
  if (request.system !== '') {
    params.system = [{ type: 'text', text: request.system, ...(cache ? { cache_control: CACHE } : {}) }];
  }
  if (request.tools.length > 0) params.tools = toAnthropicTools(request.tools, cache);
  // A forced call is how a verdict comes back as structured output (the tool's input).
  if (request.toolChoice?.type === 'tool')
    params.tool_choice = { type: 'tool', name: request.toolChoice.name };
  // A conversation with tools goes on after this call, so the turns so far are worth caching too; a
  // one-shot call (a judge, a summary) would pay the 1.25× write for nothing.
  if (cache && request.tools.length > 0) {
    const used = (params.system ? 1 : 0) + (params.tools ? 1 : 0);
    markLatestTurns(userTurns, MAX_CACHE_BREAKPOINTS - used);
  }
  return params;
}

/**
 * A breakpoint on the last block of the latest user turns. The newest caches everything so far; the one
 * before sits where the previous call wrote, so that write is read back even when a turn added more
 * blocks than the API looks back over (20).
 */
function markLatestTurns(userTurns: UserBlock[][], breakpoints: number): void {
  const count = Math.min(2, breakpoints, userTurns.length);
  for (let i = userTurns.length - count; i < userTurns.length; i++) {
    const last = userTurns[i]?.at(-1);
    if (last) last.cache_control = CACHE;
  }
}

function toAnthropicTools(tools: ToolSpec[], cache: boolean): Anthropic.Tool[] {
  return tools.map((tool, index) => ({
    name: tool.name,
    description: tool.description,
    input_schema: { ...tool.inputSchema, type: 'object' },
    ...(cache && index === tools.length - 1 ? { cache_control: CACHE } : {}),
  }));
}

type UserBlock = Anthropic.TextBlockParam | Anthropic.ToolResultBlockParam;

function toAnthropicMessages(messages: Message[]): {
  messages: Anthropic.MessageParam[];
  userTurns: UserBlock[][];
} {
  const out: Anthropic.MessageParam[] = [];
  const userTurns: UserBlock[][] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      // The API wants tool results first in a user turn, any text after them.
      const results: Anthropic.ToolResultBlockParam[] = [];
      const texts: Anthropic.TextBlockParam[] = [];
      for (const part of message.content) {
        if (part.type === 'tool_result') {
          results.push({
            type: 'tool_result',
            tool_use_id: part.toolUseId,
            content: part.content,
            is_error: part.isError,
          });
        } else if (part.text !== '') {
          texts.push({ type: 'text', text: part.text });
        }
      }
      const content: UserBlock[] = [...results, ...texts];
      if (content.length > 0) {
        out.push({ role: 'user', content });
        userTurns.push(content);
      }
    } else {
      const content: Array<Anthropic.TextBlockParam | Anthropic.ToolUseBlockParam> = [];
      for (const part of message.content) {
        if (part.type === 'tool_use') {
          content.push({ type: 'tool_use', id: part.id, name: part.name, input: part.input });
        } else if (part.text !== '') {
          // The API rejects empty text blocks.
          content.push({ type: 'text', text: part.text });
        }
      }
      if (content.length > 0) out.push({ role: 'assistant', content });
    }
  }
  return { messages: out, userTurns };
}

export function fromAnthropicMessage(message: Anthropic.Message): ModelResponse {
  let text = '';
  const toolCalls: ToolCallRecord[] = [];
  for (const block of message.content) {
    if (block.type === 'text') text += block.text;
    else if (block.type === 'tool_use')
      toolCalls.push({ id: block.id, name: block.name, input: block.input });
  }
  return {
    model: message.model,
    text,
    toolCalls,
    stopReason: toStopReason(message.stop_reason),
    usage: fromAnthropicUsage(message.usage),
  };
}

function toStopReason(reason: Anthropic.StopReason | null): StopReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'end_turn';
    case 'tool_use':
      return 'tool_use';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'refusal':
      return 'refusal';
    default:
      return 'other';
  }
}
