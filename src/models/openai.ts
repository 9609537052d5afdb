/**
 * OpenAI Chat Completions behind ModelProvider, through the official SDK's streaming helper. Also
 * serves OpenAI-compatible servers (Ollama, vLLM, LM Studio) through a base URL, which need no key.
 *
 * The SDK reads OPENAI_* variables from process.env whenever an option is left out, so the key, base
 * URL, organization and project are always passed explicitly from the run's env (opts.env).
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionStreamParams } from 'openai/lib/ChatCompletionStream';
import type {
  ChatCompletion,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { TokenUsage, ToolCallRecord } from '../core/events.js';
import { baseUrlFrom, readVar } from './env.js';
import {
  abortedError,
  apiError,
  classifyStatus,
  connectionError,
  headersOf,
  isAbortError,
  isMalformedBody,
  malformedError,
  timeoutError,
  type Classified,
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
import { countRequestTokens, countResponseTokens } from './tokens.js';
import { parseToolArguments, truncatedToolInput } from './tool-input.js';

export const OPENAI_API_URL = 'https://api.openai.com/v1';

const SERVER_FAILED: Classified = { kind: 'server', retryable: true };

/** The SDK's own default, now made by the caller. */
const DEFAULT_RETRIES = 2;

/** Sent when a local server needs no key; the SDK refuses to start without one. */
const NO_KEY = 'not-needed';

export interface OpenAIProviderOptions {
  /** Where OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_ORG_ID / OPENAI_PROJECT_ID are read from. */
  env: NodeJS.ProcessEnv;
  /** Overrides env.OPENAI_BASE_URL; ends in `/v1`, to which the SDK adds `/chat/completions`. */
  baseUrl?: string;
  /**
   * How many times the caller (ModelCaller) retries a call that failed in a retryable way; the SDK
   * itself never retries, so each attempt is a call the caps, the trace and the ledger see.
   */
  maxRetries?: number;
}

export class OpenAIProvider implements ModelProvider {
  readonly name = 'openai';
  readonly maxRetries: number;
  private readonly client: OpenAI;
  private readonly label: ProviderLabel;
  private readonly official: boolean;

  constructor(opts: OpenAIProviderOptions) {
    this.maxRetries = opts.maxRetries ?? DEFAULT_RETRIES;
    const baseUrl = baseUrlFrom(opts.baseUrl, opts.env, 'OPENAI_BASE_URL', this.name) ?? OPENAI_API_URL;
    this.official = new URL(baseUrl).hostname === 'api.openai.com';
    const apiKey = readVar(opts.env, 'OPENAI_API_KEY');
    if (!apiKey && this.official) {
      throw new ProviderError(
        'missing_key',
        'OPENAI_API_KEY is not set: export it, set OPENAI_BASE_URL for a local OpenAI-compatible server ' +
          '(e.g. http://localhost:11434/v1 for Ollama), or use provider: scripted for an offline run',
        this.name,
      );
    }
    this.label = {
      name: this.name,
      title: this.official ? 'OpenAI' : 'the OpenAI-compatible server',
      keyVariable: 'OPENAI_API_KEY',
      baseUrlVariable: 'OPENAI_BASE_URL',
      baseUrl,
      secret: apiKey,
    };
    this.client = new OpenAI({
      apiKey: apiKey ?? NO_KEY,
      baseURL: baseUrl,
      organization: readVar(opts.env, 'OPENAI_ORG_ID') ?? null,
      project: readVar(opts.env, 'OPENAI_PROJECT_ID') ?? null,
      // Retries are the caller's (ModelCaller): an SDK retry would be a call no cap, trace or stop sees.
      maxRetries: 0,
      // The default logger is console, whose lines would land in the middle of the TUI.
      logLevel: 'off',
    });
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    if (request.signal?.aborted) throw abortedError(this.label);
    const params = toOpenAIParams(request, this.official);
    const stream = this.client.chat.completions.stream(params, {
      signal: request.signal,
      ...(request.timeoutMs === undefined ? {} : { timeout: request.timeoutMs }),
    });
    let connected = false;
    stream.on('connect', () => (connected = true));
    const onText = request.onText;
    if (onText) stream.on('content', (delta) => onText(delta));
    let completion: ChatCompletion;
    try {
      // Usage comes only in the stream's last chunk, so no usage event is reported: what a stream
      // that broke off or was aborted had used cannot be known.
      completion = await stream.finalChatCompletion();
    } catch (error) {
      throw this.toProviderError(error, request, connected);
    }
    return fromOpenAICompletion(completion, request, this.label);
  }

  private toProviderError(error: unknown, request: ModelRequest, connected: boolean): ProviderError {
    if (error instanceof ProviderError) return error;
    if (error instanceof APIUserAbortError || isAbortError(error) || request.signal?.aborted) {
      return abortedError(this.label, error);
    }
    if (error instanceof APIConnectionTimeoutError) return timeoutError(this.label, request.timeoutMs, error);
    if (error instanceof APIError && !(error instanceof APIConnectionError)) {
      // An error frame inside the stream has no status: the server failed midway.
      const status = typeof error.status === 'number' ? error.status : undefined;
      const classified = status === undefined ? SERVER_FAILED : classifyStatus(status);
      return apiError(this.label, classified, error.message, status, error, headersOf(error));
    }
    if (isMalformedBody(error)) {
      return malformedError(this.label, error instanceof Error ? error.message : String(error), error);
    }
    // No answer, or a stream that ended early (a reset socket, the helper's "missing finish_reason"):
    // trying again is the usual cure.
    const detail = error instanceof Error ? error.message : String(error);
    return connectionError(this.label, detail, connected, error);
  }
}

export function toOpenAIParams(request: ModelRequest, official = true): ChatCompletionStreamParams {
  const params: ChatCompletionStreamParams = {
    model: request.model,
    messages: toOpenAIMessages(request.system, request.messages),
    stream_options: { include_usage: true },
  };
  // OpenAI's newer models reject max_tokens; compatible servers know only max_tokens.
  if (official) params.max_completion_tokens = request.maxTokens;
  else params.max_tokens = request.maxTokens;
  if (request.tools.length > 0) params.tools = request.tools.map(toOpenAITool);
  // A forced call is how a verdict comes back as structured output (the function's arguments). Not
  // `strict`: the SDK would then throw away a response cut at max_tokens instead of returning it.
  if (request.toolChoice?.type === 'tool') {
    params.tool_choice = { type: 'function', function: { name: request.toolChoice.name } };
  }
  if (request.cacheKey) params.prompt_cache_key = request.cacheKey;
  return params;
}

function toOpenAITool(tool: ToolSpec): ChatCompletionFunctionTool {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
  };
}

function toOpenAIMessages(system: string, messages: Message[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (system !== '') out.push({ role: 'system', content: system });
  for (const message of messages) {
    if (message.role === 'user') {
      // Tool results must directly follow the assistant message that made the calls. OpenAI has no
      // error flag on them; the tool's output already says what went wrong.
      const texts: string[] = [];
      for (const part of message.content) {
        if (part.type === 'tool_result') {
          out.push({ role: 'tool', tool_call_id: part.toolUseId, content: part.content });
        } else if (part.text !== '') {
          texts.push(part.text);
        }
      }
      if (texts.length > 0) out.push({ role: 'user', content: texts.join('\n\n') });
    } else {
      const text = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
      const calls = message.content.flatMap((part) =>
        part.type === 'tool_use'
          ? [
              {
                id: part.id,
                type: 'function' as const,
                function: { name: part.name, arguments: JSON.stringify(part.input ?? {}) },
              },
            ]
          : [],
      );
      out.push({
        role: 'assistant',
        content: text === '' && calls.length > 0 ? null : text,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      });
    }
  }
  return out;
}

export function fromOpenAICompletion(
  completion: ChatCompletion,
  request: ModelRequest,
  label: ProviderLabel,
): ModelResponse {
  const choice = completion.choices[0];
  if (!choice) {
    throw new ProviderError(
      'malformed',
      `${label.title} sent a completion with no choices`,
      label.name,
      true,
    );
  }
  const text = choice.message.content ?? '';
  const toolCalls: ToolCallRecord[] = [];
  const calls = (choice.message.tool_calls ?? []).filter((call) => call.type === 'function');
  const cutOff = choice.finish_reason === 'length';
  calls.forEach((call, index) => {
    // Arguments that are not JSON come back marked, to be answered with a tool error: the call was
    // billed, and one bad call should not end the run. So does the last call of a response cut at
    // max_tokens, even when what arrived happens to parse: it is never run on part of its input.
    const raw = call.function.arguments;
    const input =
      cutOff && index === calls.length - 1
        ? truncatedToolInput(raw, 'the response reached max_tokens during this call')
        : parseToolArguments(raw);
    toolCalls.push({ id: call.id, name: call.function.name, input });
  });
  const stopReason = choice.message.refusal ? 'refusal' : toStopReason(choice.finish_reason);
  return {
    model: completion.model,
    text,
    toolCalls,
    stopReason,
    ...(completion.usage
      ? { usage: fromOpenAIUsage(completion.usage) }
      : { usage: estimateUsage(request, text, toolCalls), estimated: true }),
  };
}

function fromOpenAIUsage(usage: NonNullable<ChatCompletion['usage']>): TokenUsage {
  // prompt_tokens counts the cached tokens (and, on models that bill them, the cache writes) too.
  const cacheRead = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  const out: TokenUsage = {
    input: Math.max(0, usage.prompt_tokens - cacheRead - cacheWrite),
    output: usage.completion_tokens,
    cacheRead,
    cacheWrite,
  };
  // Already part of completion_tokens (and billed as output); kept apart to show what thinking cost.
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  if (reasoning > 0) out.reasoning = reasoning;
  return out;
}

/** For servers that ignore include_usage: counted here, so budgets still see the spend. */
function estimateUsage(request: ModelRequest, text: string, toolCalls: ToolCallRecord[]): TokenUsage {
  return {
    input: countRequestTokens(request),
    output: countResponseTokens(text, toolCalls),
    cacheRead: 0,
    cacheWrite: 0,
  };
}

function toStopReason(reason: ChatCompletion.Choice['finish_reason'] | null): StopReason {
  switch (reason) {
    case 'stop':
      return 'end_turn';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    default:
      return 'other';
  }
}
