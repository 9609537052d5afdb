/**
 * A local stand-in for the OpenAI Chat Completions API (`POST /v1/chat/completions`) that speaks the
 * real wire protocol, so tests drive the real SDK: JSON when `stream` is not set, otherwise data-only
 * SSE ending with `data: [DONE]`. It sends what the SDK's strict `chat.completions.stream()` helper
 * needs: role and index on the first chunk, `index` + `type` on a tool call's first delta, a chunk with
 * `finish_reason`, and (only when `stream_options.include_usage` is set) a usage chunk with
 * `choices: []` and an `id`.
 *
 * A test passes a handler that sees each parsed request body and returns what to answer: a completion
 * (text, tool calls, usage), an HTTP error, an error frame in the stream, a stream cut midway, or a
 * stream that hangs until the client goes away. `url` ends in `/v1`, as the SDK's baseURL must. Like the
 * API, it refuses a forced `tool_choice` naming a function the request does not offer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type JsonObject = Record<string, unknown>;

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: JsonObject;
}

export interface FakeOpenAIToolCall {
  /** Defaults to call_<n>, numbered across the server's lifetime. */
  id?: string;
  name: string;
  input?: unknown;
  /** Sent verbatim as `function.arguments` instead of JSON of `input` (to send a malformed call). */
  rawArguments?: string;
}

/** Chat Completions usage; `prompt_tokens` includes the cached ones, as the real API counts. */
export interface FakeOpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
  cache_write_tokens?: number;
  /** Sent as completion_tokens_details.reasoning_tokens (part of completion_tokens). */
  reasoning_tokens?: number;
}

export interface FakeOpenAIReply {
  text?: string;
  toolCalls?: FakeOpenAIToolCall[];
  /** Defaults to tool_calls when there are tool calls, else stop. */
  finishReason?: string;
  usage?: FakeOpenAIUsage;
  /** The model id reported back; defaults to the requested one. */
  model?: string;
  /** Act like a server that ignores `stream_options.include_usage` (no usage chunk, no usage field). */
  omitUsage?: boolean;
  /** Answer with this HTTP status and an OpenAI error body instead of a completion. */
  error?: FakeHttpError;
  /** Streaming only: after the role chunk and first content delta, send a `data: {"error": ...}` frame. */
  streamError?: { type: string; message: string };
  /** Streaming only: destroy the connection after the role chunk and the first content delta. */
  cut?: boolean;
  /** Streaming only: after the role chunk and first content delta, send nothing until the client goes. */
  hang?: boolean;
  /** Streaming only: after the role chunk and first content delta, send a frame that is not JSON, and end. */
  malformed?: boolean;
  /** Send nothing at all, not even headers, until the client goes (a server that hangs). */
  silent?: boolean;
}

export interface FakeHttpError {
  status: number;
  type: string;
  message: string;
  code?: string;
  /** Sent as `retry-after-ms`, which loops honours between retries (0 keeps tests fast). */
  retryAfterMs?: number;
  /** Sent as `retry-after` (seconds, or an HTTP date). */
  retryAfter?: string;
}

export type FakeOpenAIHandler = (
  body: JsonObject,
  index: number,
) => FakeOpenAIReply | Promise<FakeOpenAIReply>;

export interface FakeServer {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

const CREATED = 1_700_000_000;

export async function startFakeOpenAI(handler: FakeOpenAIHandler): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  let callIds = 0;
  let completionIds = 0;

  const server = http.createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = req.url ?? '/';
      if (req.method !== 'POST' || path.split('?')[0] !== '/v1/chat/completions') {
        sendError(res, {
          status: 404,
          type: 'invalid_request_error',
          message: `the fake serves POST /v1/chat/completions, not ${req.method} ${path}`,
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
      requests.push({ method: req.method, path, headers: req.headers, body });
      const choice = forcedFunctionProblem(body);
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
      const completion = buildCompletion(
        reply,
        body,
        `chatcmpl-${++completionIds}`,
        () => `call_${++callIds}`,
      );
      if (body.stream === true) writeStream(res, reply, completion, includeUsage(body) && !reply.omitUsage);
      else sendJson(res, 200, completionJson(completion, !reply.omitUsage));
    })().catch((error: unknown) => {
      if (!res.headersSent)
        sendError(res, {
          status: 500,
          type: 'server_error',
          message: `fake handler failed: ${String(error)}`,
        });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => closeServer(server),
  };
}

/** Like the API, a forced tool_choice must name one of the request's functions. */
function forcedFunctionProblem(body: JsonObject): string | undefined {
  const choice = body.tool_choice as { type?: string; function?: { name?: string } } | undefined;
  if (choice?.type !== 'function') return undefined;
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: string } }>) : [];
  const name = choice.function?.name;
  return tools.some((tool) => tool.function?.name === name)
    ? undefined
    : `tool_choice: function "${String(name)}" is not among the request's tools`;
}

interface BuiltCompletion {
  id: string;
  model: unknown;
  text: string;
  calls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string;
  usage: JsonObject;
}

function buildCompletion(
  reply: FakeOpenAIReply,
  body: JsonObject,
  id: string,
  nextCallId: () => string,
): BuiltCompletion {
  const calls = (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? nextCallId(),
    name: call.name,
    arguments: call.rawArguments ?? JSON.stringify(call.input ?? {}),
  }));
  const {
    prompt_tokens = 10,
    completion_tokens = 5,
    cached_tokens,
    cache_write_tokens,
    reasoning_tokens,
  } = reply.usage ?? {};
  const details: JsonObject = { cached_tokens: cached_tokens ?? 0 };
  if (cache_write_tokens !== undefined) details.cache_write_tokens = cache_write_tokens;
  return {
    id,
    model: reply.model ?? body.model ?? 'fake-model',
    text: reply.text ?? '',
    calls,
    finishReason: reply.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop'),
    usage: {
      prompt_tokens,
      completion_tokens,
      total_tokens: prompt_tokens + completion_tokens,
      prompt_tokens_details: details,
      ...(reasoning_tokens === undefined ? {} : { completion_tokens_details: { reasoning_tokens } }),
    },
  };
}

function completionJson(c: BuiltCompletion, withUsage: boolean): JsonObject {
  const message: JsonObject = {
    role: 'assistant',
    content: c.text === '' && c.calls.length > 0 ? null : c.text,
  };
  if (c.calls.length > 0) {
    message.tool_calls = c.calls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  message.refusal = null;
  return {
    id: c.id,
    object: 'chat.completion',
    created: CREATED,
    model: c.model,
    choices: [{ index: 0, message, finish_reason: c.finishReason, logprobs: null }],
    ...(withUsage ? { usage: c.usage } : {}),
  };
}

function streamChunks(c: BuiltCompletion, withUsage: boolean): { head: JsonObject[]; tail: JsonObject[] } {
  // The head is the role chunk and the first content delta, if any: where errors, cuts and hangs go.
  const chunk = (choices: JsonObject[], extra: JsonObject = {}): JsonObject => ({
    id: c.id,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: c.model,
    choices,
    ...extra,
  });
  const delta = (d: JsonObject, finishReason: string | null = null): JsonObject =>
    chunk([{ index: 0, delta: d, finish_reason: finishReason, logprobs: null }]);

  const head: JsonObject[] = [delta({ role: 'assistant', content: '' })];
  const tail: JsonObject[] = [];
  const [first, ...rest] = splitText(c.text);
  if (first !== undefined) head.push(delta({ content: first }));
  for (const piece of rest) tail.push(delta({ content: piece }));
  c.calls.forEach((call, index) => {
    tail.push(
      delta({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    const half = Math.ceil(call.arguments.length / 2);
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      tail.push(delta({ tool_calls: [{ index, function: { arguments: part } }] }));
    }
  });
  tail.push(delta({}, c.finishReason));
  if (withUsage) tail.push(chunk([], { usage: c.usage }));
  return { head, tail };
}

function writeStream(
  res: http.ServerResponse,
  reply: FakeOpenAIReply,
  c: BuiltCompletion,
  withUsage: boolean,
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const { head, tail } = streamChunks(c, withUsage);
  for (const json of head) res.write(frame(json));
  if (reply.streamError) {
    res.end(frame({ error: { ...reply.streamError, param: null, code: null } }));
  } else if (reply.malformed) {
    res.end(`data: {"type": "content_block_delta", "index": 0, "delta": {"text": "cut here\n\n`);
  } else if (reply.cut) {
    // Once what was written has left, so the client sees a response that breaks off.
    res.write('', () => res.destroy());
  } else if (!reply.hang) {
    for (const json of tail) res.write(frame(json));
    res.end('data: [DONE]\n\n');
  }
}

function includeUsage(body: JsonObject): boolean {
  const options = body.stream_options;
  return typeof options === 'object' && options !== null && (options as JsonObject).include_usage === true;
}

function frame(json: JsonObject): string {
  return `data: ${JSON.stringify(json)}\n\n`;
}

/** Words with their trailing space, so a text arrives as several deltas like a real stream. */
function splitText(text: string): string[] {
  return text === '' ? [] : (text.match(/\S+\s*|\s+/g) ?? [text]);
}

function sendError(
  res: http.ServerResponse,
  { status, type, message, code, retryAfterMs, retryAfter }: FakeHttpError,
): void {
  const headers: http.OutgoingHttpHeaders = {
    ...(retryAfterMs === undefined ? {} : { 'retry-after-ms': String(retryAfterMs) }),
    ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
  };
  sendJson(res, status, { error: { message, type, param: null, code: code ?? null } }, headers);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  json: JsonObject,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_fake', ...headers });
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
