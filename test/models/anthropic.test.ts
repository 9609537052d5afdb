import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { BrokenStreamError } from '../../src/models/errors.js';
import { startFakeAnthropic, type FakeAnthropicHandler, type FakeServer } from '../support/fake-anthropic.js';
import { makeRequest, providerErrorOf, syncProviderErrorOf, toolRoundTripRequest } from './helpers.js';

const KEY = 'sk-ant-test-secret-0123456789';

let fake: FakeServer | undefined;

afterEach(async () => {
  vi.unstubAllEnvs();
  await fake?.close();
  fake = undefined;
});

async function setup(handler: FakeAnthropicHandler, env: NodeJS.ProcessEnv = { ANTHROPIC_API_KEY: KEY }) {
  fake = await startFakeAnthropic(handler);
  const provider = new AnthropicProvider({ env, baseUrl: fake.url, maxRetries: 0 });
  return { fake, provider };
}

describe('AnthropicProvider', () => {
  it('streams text to onText and returns the final message', async () => {
    const { fake, provider } = await setup(() => ({
      text: 'I will read the failing test first.',
      model: 'claude-test-20260101',
      usage: { input_tokens: 12, output_tokens: 7 },
    }));
    const deltas: string[] = [];
    const response = await provider.complete(makeRequest({ onText: (d) => deltas.push(d) }));

    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('I will read the failing test first.');
    expect(response).toEqual({
      model: 'claude-test-20260101',
      text: 'I will read the failing test first.',
      toolCalls: [],
      stopReason: 'end_turn',
      usage: { input: 12, output: 7, cacheRead: 0, cacheWrite: 0 },
    });
    const request = fake.requests[0]!;
    expect(request.path).toBe('/v1/messages');
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.body).toMatchObject({ model: 'test-model', max_tokens: 1024, stream: true });
  });

  it('maps a tool round trip both ways: tool_result blocks, system, tools and cache breakpoints', async () => {
    const { fake, provider } = await setup(() => ({
      text: 'Now running the tests.',
      toolCalls: [{ name: 'run', input: { command: 'npm test -- math' } }],
    }));
    const response = await provider.complete(toolRoundTripRequest());

    expect(response.stopReason).toBe('tool_use');
    expect(response.text).toBe('Now running the tests.');
    expect(response.toolCalls).toEqual([
      { id: 'toolu_1', name: 'run', input: { command: 'npm test -- math' } },
    ]);

    const body = fake.requests[0]!.body;
    expect(body.system).toEqual([
      { type: 'text', text: 'You fix failing tests.', cache_control: { type: 'ephemeral' } },
    ]);
    expect(body.tools).toEqual([
      {
        name: 'read_file',
        description: 'Read a file in the worktree',
        input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      },
      {
        name: 'run',
        description: 'Run a shell command in the worktree',
        input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
        cache_control: { type: 'ephemeral' },
      },
    ]);
    // The latest two user turns carry the other two of the four breakpoints the API allows.
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [{ type: 'text', text: 'The tests fail. Fix them.', cache_control: { type: 'ephemeral' } }],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Reading the test.' },
          { type: 'tool_use', id: 'tool_a', name: 'read_file', input: { path: 'test/math.test.js' } },
          { type: 'tool_use', id: 'tool_b', name: 'run', input: { command: 'npm test' } },
        ],
      },
      {
        role: 'user',
        // Tool results first: the API rejects text before them.
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'tool_a',
            content: 'expect(add(1, 2)).toBe(3)',
            is_error: false,
          },
          { type: 'tool_result', tool_use_id: 'tool_b', content: 'exit 1: 1 failing', is_error: true },
          {
            type: 'text',
            text: 'Instruction from a person: be brief.',
            cache_control: { type: 'ephemeral' },
          },
        ],
      },
    ]);
  });

  it('marks at most 4 breakpoints: last tool, system, and the last block of the latest two user turns', async () => {
    const { fake, provider } = await setup(() => ({ text: 'ok' }));
    const turns = toolRoundTripRequest().messages;
    // Three user turns: only the latest two are marked, so the API's limit of 4 holds.
    const messages = [
      ...turns,
      {
        role: 'assistant' as const,
        content: [{ type: 'tool_use' as const, id: 't3', name: 'run', input: {} }],
      },
      {
        role: 'user' as const,
        content: [{ type: 'tool_result' as const, toolUseId: 't3', content: 'ok', isError: false }],
      },
    ];
    await provider.complete(toolRoundTripRequest({ messages }));
    const body = fake.requests[0]!.body;
    const marked = JSON.stringify(body).split('"cache_control"').length - 1;
    expect(marked).toBe(4);
    const sent = body.messages as Array<{ content: Array<Record<string, unknown>> }>;
    expect(sent[0]!.content.at(-1)!.cache_control).toBeUndefined();
    expect(sent[2]!.content.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(sent[4]!.content.at(-1)).toEqual({
      type: 'tool_result',
      tool_use_id: 't3',
      content: 'ok',
      is_error: false,
      cache_control: { type: 'ephemeral' },
    });
  });

  it('marks only the stable prefix on a call without tools (a one-shot judge or summary)', async () => {
    const { fake, provider } = await setup(() => ({ text: 'ok' }));
    await provider.complete(makeRequest());
    const body = fake.requests[0]!.body;
    expect(body.system).toEqual([
      { type: 'text', text: 'You fix failing tests.', cache_control: { type: 'ephemeral' } },
    ]);
    expect(JSON.stringify(body.messages)).not.toContain('cache_control');
  });

  it('sends no cache_control at all when caching is off', async () => {
    fake = await startFakeAnthropic(() => ({ text: 'ok' }));
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: KEY },
      baseUrl: fake.url,
      maxRetries: 0,
      cache: false,
    });
    await provider.complete(toolRoundTripRequest());
    expect(fake.requests[0]!.raw).not.toContain('cache_control');
  });

  it('reports 1-hour cache writes apart (they cost 2x input, 5-minute ones 1.25x)', async () => {
    const { provider } = await setup(() => ({
      text: 'ok',
      usage: {
        input_tokens: 3,
        output_tokens: 9,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 1500,
        cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 1000 },
      },
    }));
    const response = await provider.complete(makeRequest());
    expect(response.usage).toEqual({
      input: 3,
      output: 9,
      cacheRead: 0,
      cacheWrite: 1500,
      cacheWrite1h: 1000,
    });
  });

  it('keeps cache reads and writes apart from input tokens', async () => {
    const { provider } = await setup(() => ({
      text: 'ok',
      usage: {
        input_tokens: 3,
        output_tokens: 9,
        cache_read_input_tokens: 1800,
        cache_creation_input_tokens: 240,
      },
    }));
    const response = await provider.complete(makeRequest());
    expect(response.usage).toEqual({ input: 3, output: 9, cacheRead: 1800, cacheWrite: 240 });
  });

  it('maps stop reasons', async () => {
    const reasons = ['max_tokens', 'refusal', 'stop_sequence', 'pause_turn'];
    const { provider } = await setup((_body, index) => ({ text: 'x', stopReason: reasons[index] }));
    const mapped = [];
    for (const _ of reasons) mapped.push((await provider.complete(makeRequest())).stopReason);
    expect(mapped).toEqual(['max_tokens', 'refusal', 'end_turn', 'other']);
  });

  it('reads the key only from the env it is given, never from process.env', async () => {
    vi.stubEnv('ANTHROPIC_API_KEY', 'from-process-env');
    vi.stubEnv('ANTHROPIC_BASE_URL', 'http://127.0.0.1:9');
    const { fake, provider } = await setup(() => ({ text: 'ok' }), {
      ANTHROPIC_AUTH_TOKEN: 'token-from-env',
    });
    await provider.complete(makeRequest());
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer token-from-env');
  });

  it('takes the base URL from env.ANTHROPIC_BASE_URL when no base URL is given', async () => {
    fake = await startFakeAnthropic(() => ({ text: 'via env' }));
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url },
      maxRetries: 0,
    });
    expect((await provider.complete(makeRequest())).text).toBe('via env');
  });

  it('names the variable when the key is missing', () => {
    const error = syncProviderErrorOf(() => new AnthropicProvider({ env: { ANTHROPIC_API_KEY: '  ' } }));
    expect(error.kind).toBe('missing_key');
    expect(error.provider).toBe('anthropic');
    expect(error.message).toBe(
      'ANTHROPIC_API_KEY is not set: export it, or use provider: scripted for an offline run',
    );
  });

  it('rejects a base URL that is not a URL, naming where it came from', () => {
    const error = syncProviderErrorOf(
      () => new AnthropicProvider({ env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'localhost:8080' } }),
    );
    expect(error.kind).toBe('config');
    expect(error.message).toContain('ANTHROPIC_BASE_URL is "localhost:8080"');
  });

  it('turns HTTP 401 into auth, naming the variable and never showing the key', async () => {
    const { provider } = await setup(() => ({
      error: { status: 401, type: 'authentication_error', message: `invalid x-api-key: ${KEY}` },
    }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('ANTHROPIC_API_KEY');
    expect(error.message).toContain('HTTP 401');
    expect(error.message).not.toContain(KEY);
  });

  it.each([
    [529, 'overloaded_error', 'overloaded', true],
    [429, 'rate_limit_error', 'rate_limit', true],
    [500, 'api_error', 'server', true],
    [400, 'invalid_request_error', 'bad_request', false],
  ])('turns HTTP %i into %s', async (status, type, kind, retryable) => {
    const { provider } = await setup(() => ({ error: { status, type, message: 'nope' } }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(retryable);
  });

  it('turns an overloaded_error event inside the stream into overloaded', async () => {
    const { provider } = await setup(() => ({
      text: 'Starting to answer',
      streamError: { type: 'overloaded_error', message: 'Overloaded' },
    }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('overloaded');
    expect(error.retryable).toBe(true);
  });

  it('turns a stream cut midway into a retryable connection error', async () => {
    const { provider } = await setup(() => ({ text: 'Starting to answer', cut: true }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('connection');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('broke off in the middle of the response');
    expect(error).toBeInstanceOf(BrokenStreamError);
  });

  it('turns an unreachable server into a connection error naming the URL', async () => {
    const closed = await startFakeAnthropic(() => ({ text: 'unused' }));
    await closed.close();
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: KEY },
      baseUrl: closed.url,
      maxRetries: 0,
    });
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('connection');
    expect(error.message).toContain(closed.url);
    // No response at all: a connection error, not one that broke off midway.
    expect(error).not.toBeInstanceOf(BrokenStreamError);
  });

  it('makes no retries of its own: the failure comes back with its status and retry-after', async () => {
    fake = await startFakeAnthropic(() => ({
      error: { status: 529, type: 'overloaded_error', message: 'Overloaded', retryAfterMs: 1500 },
    }));
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: KEY },
      baseUrl: fake.url,
      maxRetries: 3,
    });
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ kind: 'overloaded', retryable: true, status: 529, retryAfterMs: 1500 });
    expect(provider.maxRetries).toBe(3);
  });

  it('stops a streaming call when the signal aborts', async () => {
    const { provider } = await setup(() => ({ text: 'Thinking about it for a long time', hang: true }));
    const controller = new AbortController();
    const error = await providerErrorOf(
      provider.complete(makeRequest({ signal: controller.signal, onText: () => controller.abort() })),
    );
    expect(error.kind).toBe('aborted');
    expect(error.retryable).toBe(false);
  });

  it('does not call the API when the signal is already aborted', async () => {
    const { fake, provider } = await setup(() => ({ text: 'unused' }));
    const error = await providerErrorOf(provider.complete(makeRequest({ signal: AbortSignal.abort() })));
    expect(error.kind).toBe('aborted');
    expect(fake.requests).toHaveLength(0);
  });
});
