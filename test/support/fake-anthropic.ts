/**
 * A local stand-in for the Anthropic Messages API (`POST /v1/messages`) that speaks the real wire
 * protocol, so tests drive the real SDK: JSON when `stream` is not set, otherwise SSE frames that each
 * carry an `event:` line (the SDK drops frames without one) in the order message_start →
 * content_block_start/delta/stop per block → message_delta → message_stop.
 *
 * A test passes a handler that sees each parsed request body and returns what to answer: a message
 * (text, tool calls, usage), an HTTP error, an SSE error event, a stream cut midway, or a stream that
 * hangs until the client goes away. Pass `url` as the SDK's baseURL (no `/v1`: the SDK adds it).
 *
 * Like the API, it refuses a request with more than 4 cache_control blocks. With `cache` (a PromptCache)
 * it applies the real prompt-caching rules and reports input and cache tokens accordingly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { countBreakpoints, type PromptCache } from './prompt-cache.js';

export type JsonObject = Record<string, unknown>;

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: JsonObject;
  /** The body exactly as it came over the wire. */
  raw: string;
}

export interface FakeAnthropicToolCall {
  /** Defaults to toolu_<n>, numbered across the server's lifetime. */
  id?: string;
  name: string;
  input?: unknown;
  /** Sent verbatim as the input JSON instead of `input` (to send a malformed call). */
  rawInput?: string;
}

/** Anthropic usage fields; cache fields are sent only when given, as older servers omit them. */
export interface FakeAnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number };
}

export interface FakeAnthropicReply {
  text?: string;
  toolCalls?: FakeAnthropicToolCall[];
  /** Defaults to tool_use when there are tool calls, else end_turn. */
  stopReason?: string;
  usage?: FakeAnthropicUsage;
  /** The model id reported back; defaults to the requested one. */
  model?: string;
  /** Answer with this HTTP status and an Anthropic error body instead of a message. */
  error?: FakeHttpError;
  /** Streaming only: after message_start and the first text delta, send an SSE `error` event and end. */
  streamError?: { type: string; message: string };
  /** Streaming only: destroy the connection after message_start and the first text delta. */
  cut?: boolean;
  /** Streaming only: after message_start and the first text delta, send nothing until the client goes. */
  hang?: boolean;
  /** Streaming only: after message_start and the first text delta, send a frame that is not JSON, and end. */
  malformed?: boolean;
  /** Send nothing at all, not even headers, until the client goes (a server that hangs). */
  silent?: boolean;
}

export interface FakeHttpError {
  status: number;
  type: string;
  message: string;
  /** Sent as `retry-after-ms`, which loops honours between retries (0 keeps tests fast). */
  retryAfterMs?: number;
  /** Sent as `retry-after` (seconds, or an HTTP date). */
  retryAfter?: string;
}

export type FakeAnthropicHandler = (
  body: JsonObject,
  index: number,
) => FakeAnthropicReply | Promise<FakeAnthropicReply>;

export interface FakeServer {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

export interface FakeAnthropicOptions {
  /** Simulate prompt caching: input and cache usage come from it (a reply's own usage still wins). */
  cache?: PromptCache;
}

/** The API's limit on cache_control blocks per request. */
const MAX_BREAKPOINTS = 4;

interface SseEvent {
  event: string;
  data: JsonObject;
}

export async function startFakeAnthropic(
  handler: FakeAnthropicHandler,
  options: FakeAnthropicOptions = {},
): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  let toolIds = 0;
  let messageIds = 0;

  const server = http.createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = req.url ?? '/';
      if (req.method !== 'POST' || path.split('?')[0] !== '/v1/messages') {
        sendError(res, {
          status: 404,
          type: 'not_found_error',
          message: `the fake serves POST /v1/messages, not ${req.method} ${path}`,
        });
        return;
      }
      const body = parseObject(raw);
      if (!body) {
        sendError(res, {
          status: 400,
          type: 'invalid_request_error',
          message: 'request body is not a JSON object',
        });
        return;
      }
      requests.push({ method: req.method, path, headers: req.headers, body, raw });
      const breakpoints = countBreakpoints(body);
      if (breakpoints > MAX_BREAKPOINTS) {
        sendError(res, {
          status: 400,
          type: 'invalid_request_error',
          message: `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints}.`,
        });
        return;
      }
      const choice = forcedToolProblem(body);
      if (choice) {
        sendError(res, { status: 400, type: 'invalid_request_error', message: choice });
        return;
      }
      const reply = await handler(body, requests.length - 1);
      if (reply.silent) return;
      if (reply.error) {
        sendError(res, reply.error);
        return;
      }
      const cached = options.cache?.usage(body);
      const message = buildMessage(
        { ...reply, usage: { ...cached, ...reply.usage } },
        body,
        `msg_${++messageIds}`,
        () => `toolu_${++toolIds}`,
      );
      if (body.stream === true) writeStream(res, reply, message);
      else sendJson(res, 200, message.json);
    })().catch((error: unknown) => {
      if (!res.headersSent)
        sendError(res, { status: 500, type: 'api_error', message: `fake handler failed: ${String(error)}` });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => closeServer(server),
  };
}

/** Like the API, a forced tool_choice must name one of the request's tools. */
function forcedToolProblem(body: JsonObject): string | undefined {
  const choice = body.tool_choice as { type?: string; name?: string } | undefined;
  if (choice?.type !== 'tool') return undefined;
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ name?: string }>) : [];
  return tools.some((tool) => tool.name === choice.name)
    ? undefined
    : `tool_choice: tool "${String(choice.name)}" is not among the request's tools`;
}

interface BuiltMessage {
  json: JsonObject;
  text: string;
  tools: Array<{ id: string; name: string; inputJson: string }>;
  stopReason: string;
  usage: JsonObject;
}

function buildMessage(
  reply: FakeAnthropicReply,
  body: JsonObject,
  id: string,
  nextToolId: () => string,
): BuiltMessage {
  const text = reply.text ?? '';
  const tools = (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? nextToolId(),
    name: call.name,
    inputJson: call.rawInput ?? JSON.stringify(call.input ?? {}),
  }));
  const stopReason = reply.stopReason ?? (tools.length > 0 ? 'tool_use' : 'end_turn');
  const usage: JsonObject = { input_tokens: 10, output_tokens: 5, ...reply.usage };
  const content: JsonObject[] = [];
  if (text !== '') content.push({ type: 'text', text });
  for (const tool of tools) {
    content.push({
      type: 'tool_use',
      id: tool.id,
      name: tool.name,
      input: parseObject(tool.inputJson) ?? {},
    });
  }
  const json: JsonObject = {
    id,
    type: 'message',
    role: 'assistant',
    model: reply.model ?? body.model ?? 'fake-model',
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  };
  return { json, text, tools, stopReason, usage };
}

function streamEvents(message: BuiltMessage): { head: SseEvent[]; tail: SseEvent[] } {
  // The head is message_start and the first text delta, if any: where errors, cuts and hangs go.
  const head: SseEvent[] = [];
  const tail: SseEvent[] = [];
  const { output_tokens: outputTokens, ...inputUsage } = message.usage;
  head.push({
    event: 'message_start',
    data: {
      type: 'message_start',
      message: {
        ...message.json,
        content: [],
        stop_reason: null,
        usage: { ...inputUsage, output_tokens: 1 },
      },
    },
  });
  let index = 0;
  if (message.text !== '') {
    const [first = '', ...rest] = splitText(message.text);
    head.push(blockStart(index, { type: 'text', text: '' }));
    head.push(blockDelta(index, { type: 'text_delta', text: first }));
    for (const piece of rest) tail.push(blockDelta(index, { type: 'text_delta', text: piece }));
    tail.push(blockStop(index));
    index++;
  }
  for (const tool of message.tools) {
    tail.push(blockStart(index, { type: 'tool_use', id: tool.id, name: tool.name, input: {} }));
    const half = Math.ceil(tool.inputJson.length / 2);
    tail.push(blockDelta(index, { type: 'input_json_delta', partial_json: tool.inputJson.slice(0, half) }));
    tail.push(blockDelta(index, { type: 'input_json_delta', partial_json: tool.inputJson.slice(half) }));
    tail.push(blockStop(index));
    index++;
  }
  tail.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: message.stopReason, stop_sequence: null },
      // Cumulative: the SDK replaces its output count with this one.
      usage: { output_tokens: outputTokens },
    },
  });
  tail.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return { head, tail };
}

function writeStream(res: http.ServerResponse, reply: FakeAnthropicReply, message: BuiltMessage): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const { head, tail } = streamEvents(message);
  for (const event of head) res.write(frame(event));
  if (reply.streamError) {
    res.end(frame({ event: 'error', data: { type: 'error', error: reply.streamError } }));
  } else if (reply.malformed) {
    res.end(
      `event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"text": "cut here\n\n`,
    );
  } else if (reply.cut) {
    // Once what was written has left, so the client sees a response that breaks off.
    res.write('', () => res.destroy());
  } else if (!reply.hang) {
    for (const event of tail) res.write(frame(event));
    res.end();
  }
}

function frame({ event, data }: SseEvent): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function blockStart(index: number, block: JsonObject): SseEvent {
  return { event: 'content_block_start', data: { type: 'content_block_start', index, content_block: block } };
}

function blockDelta(index: number, delta: JsonObject): SseEvent {
  return { event: 'content_block_delta', data: { type: 'content_block_delta', index, delta } };
}

function blockStop(index: number): SseEvent {
  return { event: 'content_block_stop', data: { type: 'content_block_stop', index } };
}

/** Words with their trailing space, so a text arrives as several deltas like a real stream. */
function splitText(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

function sendError(
  res: http.ServerResponse,
  { status, type, message, retryAfterMs, retryAfter }: FakeHttpError,
): void {
  const headers: http.OutgoingHttpHeaders = {
    ...(retryAfterMs === undefined ? {} : { 'retry-after-ms': String(retryAfterMs) }),
    ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
  };
  sendJson(res, status, { type: 'error', error: { type, message } }, headers);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  json: JsonObject,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake', ...headers });
  res.end(JSON.stringify(json));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseObject(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

function closeServer(server: http.Server): Promise<void> {
  // Hanging streams would keep close() waiting forever.
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
