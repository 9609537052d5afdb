import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrokenStreamError } from '../../src/models/errors.js';
import { OpenAIProvider, toOpenAIParams } from '../../src/models/openai.js';
import { startFakeOpenAI, type FakeOpenAIHandler, type FakeServer } from '../support/fake-openai.js';
import {
  jsonErrorOf,
  makeRequest,
  providerErrorOf,
  syncProviderErrorOf,
  toolRoundTripRequest,
} from './helpers.js';

const KEY = 'sk-proj-test-secret-0123456789';

let fake: FakeServer | undefined;

afterEach(async () => {
  vi.unstubAllEnvs();
  await fake?.close();
  fake = undefined;
});

async function setup(handler: FakeOpenAIHandler, env: NodeJS.ProcessEnv = { OPENAI_API_KEY: KEY }) {
  fake = await startFakeOpenAI(handler);
  const provider = new OpenAIProvider({ env, baseUrl: fake.url, maxRetries: 0 });
  return { fake, provider };
}

describe('OpenAIProvider', () => {
  it('streams text to onText and returns the final completion with usage', async () => {
    const { fake, provider } = await setup(() => ({
      text: 'I will read the failing test first.',
      model: 'gpt-test-2026-01-01',
      usage: { prompt_tokens: 50, completion_tokens: 7 },
    }));
    const deltas: string[] = [];
    const response = await provider.complete(makeRequest({ onText: (d) => deltas.push(d) }));

    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('I will read the failing test first.');
    expect(response).toEqual({
      model: 'gpt-test-2026-01-01',
      text: 'I will read the failing test first.',
      toolCalls: [],
      stopReason: 'end_turn',
      usage: { input: 50, output: 7, cacheRead: 0, cacheWrite: 0 },
    });
    const request = fake.requests[0]!;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.body).toMatchObject({
      model: 'test-model',
      stream: true,
      stream_options: { include_usage: true },
      // A base URL that is not api.openai.com is a compatible server, which knows max_tokens.
      max_tokens: 1024,
    });
    expect(request.body).not.toHaveProperty('prompt_cache_key');
  });

  it('maps a tool round trip both ways: role tool, system, tools and prompt_cache_key', async () => {
    const { fake, provider } = await setup(() => ({
      toolCalls: [{ name: 'run', input: { command: 'npm test -- math' } }],
    }));
    const response = await provider.complete(toolRoundTripRequest());

    expect(response.stopReason).toBe('tool_use');
    expect(response.text).toBe('');
    expect(response.toolCalls).toEqual([
      { id: 'call_1', name: 'run', input: { command: 'npm test -- math' } },
    ]);

    const body = fake.requests[0]!.body;
    expect(body.prompt_cache_key).toBe('loop:fix-tests');
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'read_file',
          description: 'Read a file in the worktree',
          parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        },
      },
      {
        type: 'function',
        function: {
          name: 'run',
          description: 'Run a shell command in the worktree',
          parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
        },
      },
    ]);
    expect(body.messages).toEqual([
      { role: 'system', content: 'You fix failing tests.' },
      { role: 'user', content: 'The tests fail. Fix them.' },
      {
        role: 'assistant',
        content: 'Reading the test.',
        tool_calls: [
          {
            id: 'tool_a',
            type: 'function',
            function: { name: 'read_file', arguments: '{"path":"test/math.test.js"}' },
          },
          { id: 'tool_b', type: 'function', function: { name: 'run', arguments: '{"command":"npm test"}' } },
        ],
      },
      // Tool messages straight after the assistant's calls, then the user's text.
      { role: 'tool', tool_call_id: 'tool_a', content: 'expect(add(1, 2)).toBe(3)' },
      { role: 'tool', tool_call_id: 'tool_b', content: 'exit 1: 1 failing' },
      { role: 'user', content: 'Instruction from a person: be brief.' },
    ]);
  });

  it('subtracts cached tokens from prompt_tokens and keeps cache writes apart', async () => {
    const { provider } = await setup(() => ({
      text: 'ok',
      usage: { prompt_tokens: 2000, completion_tokens: 9, cached_tokens: 1792, cache_write_tokens: 100 },
    }));
    const response = await provider.complete(makeRequest());
    expect(response.usage).toEqual({ input: 108, output: 9, cacheRead: 1792, cacheWrite: 100 });
  });

  it('counts tokens itself when the server sends no usage', async () => {
    const { provider } = await setup(() => ({ text: 'Four words of output.', omitUsage: true }));
    const response = await provider.complete(makeRequest());
    expect(response.usage.input).toBeGreaterThan(0);
    expect(response.usage.output).toBe(5);
    expect(response.usage.cacheRead).toBe(0);
    // A local count is not what was billed: the call must stay unpriced.
    expect(response.estimated).toBe(true);
  });

  it('keeps reasoning tokens apart, as part of the output', async () => {
    const { provider } = await setup(() => ({
      text: 'ok',
      usage: { prompt_tokens: 50, completion_tokens: 400, reasoning_tokens: 320 },
    }));
    const response = await provider.complete(makeRequest());
    expect(response.usage).toEqual({ input: 50, output: 400, cacheRead: 0, cacheWrite: 0, reasoning: 320 });
    expect(response.estimated).toBeUndefined();
  });

  it('maps finish reasons', async () => {
    const reasons = ['length', 'content_filter', 'something_new'];
    const { provider } = await setup((_body, index) => ({ text: 'x', finishReason: reasons[index] }));
    const mapped = [];
    for (const _ of reasons) mapped.push((await provider.complete(makeRequest())).stopReason);
    expect(mapped).toEqual(['max_tokens', 'refusal', 'other']);
  });

  it('returns a call whose arguments are not JSON marked, with the usage it was billed', async () => {
    const { provider } = await setup(() => ({
      toolCalls: [
        { id: 'call_ok', name: 'read_file', input: { path: 'a.js' } },
        { id: 'call_bad', name: 'write_file', rawArguments: '{"path": "a.js",' },
      ],
      usage: { prompt_tokens: 40, completion_tokens: 12 },
    }));
    const response = await provider.complete(makeRequest());
    expect(response.toolCalls).toEqual([
      { id: 'call_ok', name: 'read_file', input: { path: 'a.js' } },
      {
        id: 'call_bad',
        name: 'write_file',
        input: { __invalid_json__: '{"path": "a.js",', __parse_error__: jsonErrorOf('{"path": "a.js",') },
      },
    ]);
    expect(response.usage).toEqual({ input: 40, output: 12, cacheRead: 0, cacheWrite: 0 });
    expect(response.stopReason).toBe('tool_use');
  });

  it('uses max_completion_tokens against the official API', () => {
    const params = toOpenAIParams(makeRequest(), true);
    expect(params.max_completion_tokens).toBe(1024);
    expect(params).not.toHaveProperty('max_tokens');
  });

  it('names the variable when the key is missing for the official API', () => {
    const error = syncProviderErrorOf(() => new OpenAIProvider({ env: {} }));
    expect(error.kind).toBe('missing_key');
    expect(error.provider).toBe('openai');
    expect(error.message).toMatch(/^OPENAI_API_KEY is not set: export it/);
  });

  it('needs no key for a server at env.OPENAI_BASE_URL (e.g. Ollama)', async () => {
    fake = await startFakeOpenAI(() => ({ text: 'local model here' }));
    const provider = new OpenAIProvider({ env: { OPENAI_BASE_URL: fake.url }, maxRetries: 0 });
    const response = await provider.complete(makeRequest());
    expect(response.text).toBe('local model here');
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer not-needed');
  });

  it('reads settings only from the env it is given, never from process.env', async () => {
    vi.stubEnv('OPENAI_API_KEY', 'from-process-env');
    vi.stubEnv('OPENAI_ORG_ID', 'org-from-process-env');
    const { fake, provider } = await setup(() => ({ text: 'ok' }), { OPENAI_API_KEY: KEY });
    await provider.complete(makeRequest());
    const headers = fake.requests[0]!.headers;
    expect(headers.authorization).toBe(`Bearer ${KEY}`);
    expect(headers).not.toHaveProperty('openai-organization');
  });

  it('turns HTTP 401 into auth, naming the variable and never showing the key', async () => {
    const { provider } = await setup(() => ({
      error: { status: 401, type: 'invalid_request_error', message: `Incorrect API key provided: ${KEY}` },
    }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('OPENAI_API_KEY');
    expect(error.message).not.toContain(KEY);
  });

  it.each([
    [529, 'overloaded', true],
    [429, 'rate_limit', true],
    [503, 'server', true],
    [400, 'bad_request', false],
  ])('turns HTTP %i into %s', async (status, kind, retryable) => {
    const { provider } = await setup(() => ({ error: { status, type: 'error', message: 'nope' } }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe(kind);
    expect(error.retryable).toBe(retryable);
  });

  it('turns an error frame inside the stream into a retryable server error', async () => {
    const { provider } = await setup(() => ({
      text: 'Starting to answer',
      streamError: { type: 'server_error', message: 'The server had an error' },
    }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('server');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('The server had an error');
  });

  it('turns a stream cut midway into a retryable connection error', async () => {
    const { provider } = await setup(() => ({ text: 'Starting to answer', cut: true }));
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(error.kind).toBe('connection');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('broke off in the middle of the response');
    expect(error).toBeInstanceOf(BrokenStreamError);
  });

  it('makes no retries of its own: the failure comes back with its status and retry-after', async () => {
    fake = await startFakeOpenAI(() => ({
      error: { status: 500, type: 'server_error', message: 'boom', retryAfter: '7' },
    }));
    const provider = new OpenAIProvider({ env: { OPENAI_API_KEY: KEY }, baseUrl: fake.url, maxRetries: 3 });
    const error = await providerErrorOf(provider.complete(makeRequest()));
    expect(fake.requests).toHaveLength(1);
    expect(error).toMatchObject({ kind: 'server', retryable: true, status: 500, retryAfterMs: 7000 });
    // The retries are the caller's to make.
    expect(provider.maxRetries).toBe(3);
  });

  it('stops a streaming call when the signal aborts', async () => {
    const { provider } = await setup(() => ({ text: 'Thinking about it for a long time', hang: true }));
    const controller = new AbortController();
    const error = await providerErrorOf(
      provider.complete(makeRequest({ signal: controller.signal, onText: () => controller.abort() })),
    );
    expect(error.kind).toBe('aborted');
  });

  it('does not call the API when the signal is already aborted', async () => {
    const { fake, provider } = await setup(() => ({ text: 'unused' }));
    const error = await providerErrorOf(provider.complete(makeRequest({ signal: AbortSignal.abort() })));
    expect(error.kind).toBe('aborted');
    expect(fake.requests).toHaveLength(0);
  });
});
