/**
 * ModelCaller with the real providers and SDKs against the fake servers: streamed text as coalesced
 * deltas, aborts mid-stream, the one retry of a broken stream, caching that did not happen, and price.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addUsage, emptyUsage, type TokenUsage } from '../../src/core/events.js';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { OpenAIProvider } from '../../src/models/openai.js';
import { ProviderError, type ModelProvider, type ModelResponse } from '../../src/models/provider.js';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { PromptCache } from '../support/prompt-cache.js';
import { makeCaller, READ_FILE } from './helpers.js';

interface Reply {
  text?: string;
  cut?: boolean;
  hang?: boolean;
  usage?: Record<string, number>;
}

interface Setup {
  provider: ModelProvider;
  requests: () => number;
}

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

type Handler = (index: number) => Reply;

/** Each provider against its fake; `maxRetries` is how many retries ModelCaller makes (none by default). */
const PROVIDERS: Record<'anthropic' | 'openai', (handler: Handler, maxRetries?: number) => Promise<Setup>> = {
  anthropic: async (handler, maxRetries = 0) => {
    const fake = await startFakeAnthropic((_body, index) => handler(index));
    closers.push(() => fake.close());
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: 'k' },
      baseUrl: fake.url,
      maxRetries,
    });
    return { provider, requests: () => fake.requests.length };
  },
  openai: async (handler, maxRetries = 0) => {
    const fake = await startFakeOpenAI((_body, index) => handler(index));
    closers.push(() => fake.close());
    const provider = new OpenAIProvider({ env: { OPENAI_API_KEY: 'k' }, baseUrl: fake.url, maxRetries });
    return { provider, requests: () => fake.requests.length };
  },
};

const NAMES = ['anthropic', 'openai'] as const;

const CALL = {
  step: 'work' as const,
  system: 'You fix failing tests.',
  messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Fix them.' }] }],
};

/**
 * What a call cut off after its first text delta leaves in the ledger: Anthropic reported the input at
 * message_start; OpenAI reports usage only in its last chunk, so what it used cannot be known.
 */
const PARTIAL: Record<(typeof NAMES)[number], Array<[string, string, TokenUsage]>> = {
  anthropic: [['Thinking ', 'other', { input: 10, output: 1, cacheRead: 0, cacheWrite: 0 }]],
  openai: [],
};

const LONG_ANSWER = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');

describe.each(NAMES)('ModelCaller with %s', (name) => {
  it('puts streamed text in the trace as a few coalesced deltas, all before the response', async () => {
    const { provider } = await PROVIDERS[name](() => ({ text: LONG_ANSWER }));
    const h = makeCaller(provider);
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('ok');
    const deltas = h.of('model.delta');
    expect(deltas.map((d) => d.text).join('')).toBe(LONG_ANSWER);
    // 300 words arrive as 300 SDK deltas; the trace gets one event per ~200 characters or 100 ms.
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.length).toBeLessThan(30);
    const response = h.of('model.response')[0]!;
    expect(Math.max(...deltas.map((d) => d.seq))).toBeLessThan(response.seq);
    expect(deltas.every((d) => d.span === response.span)).toBe(true);
  });

  it('ends with stopped when the run is stopped mid-stream', async () => {
    const { provider } = await PROVIDERS[name](() => ({
      text: 'Thinking about it for a long time',
      hang: true,
    }));
    const h = makeCaller(provider);
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(h.of('model.delta')).toHaveLength(1));
    h.control.stop();
    expect(await pending).toEqual({ kind: 'stopped' });
    expect(h.of('run.error')).toHaveLength(0);
    expect(h.of('model.delta')[0]!.text).toBe('Thinking ');
    // What the aborted call had used is billed: recorded once where the stream reported it.
    expect(h.of('model.response').map((e) => [e.text, e.stopReason, e.usage])).toEqual(PARTIAL[name]);
    expect(h.budget.usage).toEqual(PARTIAL[name][0]?.[2] ?? emptyUsage());
  });

  it('ends with interrupted when a person interrupts mid-stream with `!`', async () => {
    const { provider } = await PROVIDERS[name](() => ({
      text: 'Thinking about it for a long time',
      hang: true,
    }));
    const h = makeCaller(provider);
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(h.of('model.delta')).toHaveLength(1));
    h.control.instruct('use the other file', true);
    expect(await pending).toEqual({ kind: 'interrupted' });
    expect(h.control.stopRequested).toBe(false);
  });

  it('retries a stream that broke off, from scratch, as a call of its own, and says so', async () => {
    const { provider, requests } = await PROVIDERS[name](
      (index) => (index === 0 ? { text: 'Starting to answer', cut: true } : { text: 'The whole answer.' }),
      1,
    );
    const h = makeCaller(provider);
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('ok');
    expect(result.kind === 'ok' && result.response.text).toBe('The whole answer.');
    expect(requests()).toBe(2);
    // Handled, so not an error; visible as a retry between the two attempts' own requests.
    expect(h.of('run.error')).toHaveLength(0);
    const [retry, ...more] = h.of('provider.retry');
    expect(more).toHaveLength(0);
    expect(retry).toMatchObject({ attempt: 1, kind: 'connection', waitFrom: 'backoff', step: 'work' });
    expect(retry!.reason).toContain('broke off in the middle of the response');
    expect(retry!.usage).toBe(name === 'anthropic' ? 'recorded' : 'unknown');
    // A cut OpenAI stream never reported its usage (it comes in the last chunk): the retry says so.
    if (name === 'openai') expect(retry!.reason).toContain('what the failed attempt used is unknown');
    const requested = h.of('model.request');
    expect(requested).toHaveLength(2);
    expect(requested[0]!.seq).toBeLessThan(retry!.seq);
    expect(requested[1]!.seq).toBeGreaterThan(retry!.seq);
    expect(requested[0]!.span).not.toBe(requested[1]!.span);
    // The broken attempt's usage, where the stream had reported it, is recorded before the retry.
    const responses = h.of('model.response');
    const whole = { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 };
    const broken = name === 'anthropic' ? [['Starting ', 'other', { ...whole, output: 1 }]] : [];
    expect(responses.map((e) => [e.text, e.stopReason, e.usage])).toEqual([
      ...broken,
      ['The whole answer.', 'end_turn', whole],
    ]);
    expect(responses.at(-1)!.span).toBe(requested[1]!.span);
    expect(h.budget.usage).toEqual(responses.reduce((sum, e) => addUsage(sum, e.usage), emptyUsage()));
  });

  it('fails with the provider error once its retries are spent, and tries no more', async () => {
    const { provider, requests } = await PROVIDERS[name](
      () => ({ text: 'Starting to answer', cut: true }),
      1,
    );
    const h = makeCaller(provider);
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('failed');
    if (result.kind !== 'failed') return;
    expect(result.error.kind).toBe('connection');
    expect(result.error.message).toContain('broke off in the middle of the response');
    expect(requests()).toBe(2);
    expect(h.of('provider.retry')).toHaveLength(1);
    expect(h.of('run.error').map((e) => e.kind)).toEqual(['provider.connection']);
  });

  it('makes no retry when it has none (maxRetries 0)', async () => {
    const { provider, requests } = await PROVIDERS[name](() => ({ text: 'Starting to answer', cut: true }));
    const h = makeCaller(provider);
    expect((await h.caller.call(CALL)).kind).toBe('failed');
    expect(requests()).toBe(1);
    expect(h.of('provider.retry')).toHaveLength(0);
  });
});

describe('ModelCaller, price and caching', () => {
  const LONG_SYSTEM = 'Rules, the task and the skills of this loop. '.repeat(150);

  it('flags an Anthropic call whose long prefix was not cached, once per model per run', async () => {
    const { provider } = await PROVIDERS.anthropic(() => ({
      text: 'ok',
      usage: { input_tokens: 1500, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    }));
    const h = makeCaller(provider);
    await h.caller.call({ ...CALL, system: LONG_SYSTEM, tools: [READ_FILE] });
    await h.caller.call({ ...CALL, system: LONG_SYSTEM, tools: [READ_FILE] });
    const missed = h.of('cache.missed');
    expect(missed).toHaveLength(1);
    expect(missed[0]).toMatchObject({ model: 'test-model' });
    expect(missed[0]!.prefixTokens).toBeGreaterThanOrEqual(1024);
    expect(missed[0]!.reason).toContain('no cache reads or writes');
  });

  it('flags nothing when the server caches what the provider marks', async () => {
    const fake = await startFakeAnthropic(() => ({ text: 'ok' }), { cache: new PromptCache() });
    closers.push(() => fake.close());
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: 'k' },
      baseUrl: fake.url,
      maxRetries: 0,
    });
    const h = makeCaller(provider);
    const first = await h.caller.call({ ...CALL, system: LONG_SYSTEM, tools: [READ_FILE] });
    const second = await h.caller.call({ ...CALL, system: LONG_SYSTEM, tools: [READ_FILE] });

    expect(h.of('cache.missed')).toHaveLength(0);
    expect(first.kind === 'ok' && first.response.usage.cacheWrite).toBeGreaterThan(1024);
    expect(second.kind === 'ok' && second.response.usage.cacheRead).toBeGreaterThan(1024);
  });

  it('prices the call from the table, records it, and puts it on the response event', async () => {
    const { provider } = await PROVIDERS.anthropic(() => ({
      text: 'ok',
      usage: { input_tokens: 1000, output_tokens: 100 },
    }));
    const seen: unknown[] = [];
    const h = makeCaller(provider, {
      price: (model, usage) => {
        seen.push({ model, usage });
        return 0.0045;
      },
    });
    await h.caller.call(CALL);
    expect(seen).toEqual([
      { model: 'test-model', usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0 } },
    ]);
    expect(h.of('model.response')[0]!.usd).toBe(0.0045);
    expect(h.budget.usd).toBe(0.0045);
  });

  it("uses a provider's own cost over the table, and leaves an estimated call unpriced", async () => {
    const replies: ModelResponse[] = [
      { model: 'm', text: 'a', toolCalls: [], stopReason: 'end_turn', usage: usage(10), usd: 0.5 },
      { model: 'm', text: 'b', toolCalls: [], stopReason: 'end_turn', usage: usage(10), estimated: true },
    ];
    const provider: ModelProvider = { name: 'cli', complete: async () => replies.shift()! };
    const h = makeCaller(provider, { price: () => 99 });
    await h.caller.call(CALL);
    await h.caller.call(CALL);
    expect(h.of('model.response').map((e) => e.usd)).toEqual([0.5, null]);
    expect(h.budget.usd).toBe(0.5);
    expect(h.budget.usage.input).toBe(20);
  });
});

function usage(input: number) {
  return { input, output: 1, cacheRead: 0, cacheWrite: 0 };
}

describe("ModelCaller and a person's `!`", () => {
  /** A provider whose call waits until released, and fails as aborted the moment its signal fires. */
  function heldProvider(): { provider: ModelProvider; started: () => number; release: () => void } {
    let starts = 0;
    let release = (): void => undefined;
    const provider: ModelProvider = {
      name: 'held',
      complete: (request) =>
        new Promise((resolve, reject) => {
          starts += 1;
          const abort = (): void => reject(new ProviderError('aborted', 'the call was aborted', 'held'));
          if (request.signal?.aborted) return abort();
          request.signal?.addEventListener('abort', abort, { once: true });
          release = () =>
            resolve({ model: 'm', text: 'PASS', toolCalls: [], stopReason: 'end_turn', usage: usage(5) });
        }),
    };
    return { provider, started: () => starts, release: () => release() };
  }

  it.each(['review', 'summary'] as const)(
    'does not cut a %s call short: the `!` is for the agent',
    async (step) => {
      const held = heldProvider();
      const h = makeCaller(held.provider);
      const pending = h.caller.call({ ...CALL, step });
      await vi.waitFor(() => expect(held.started()).toBe(1));
      h.control.instruct('use the other file', true);
      held.release();

      const result = await pending;
      expect(result.kind).toBe('ok');
      expect(result.kind === 'ok' && result.response.text).toBe('PASS');
      // The instruction waits for the agent's next call.
      expect(h.control.hasUrgent).toBe(true);
    },
  );

  it('ends a review call with stopped when the run is stopped', async () => {
    const held = heldProvider();
    const h = makeCaller(held.provider);
    const pending = h.caller.call({ ...CALL, step: 'review' });
    await vi.waitFor(() => expect(held.started()).toBe(1));
    h.control.stop();
    expect(await pending).toEqual({ kind: 'stopped' });
  });

  it("still interrupts the agent's own work", async () => {
    const held = heldProvider();
    const h = makeCaller(held.provider);
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(held.started()).toBe(1));
    h.control.instruct('use the other file', true);
    expect(await pending).toEqual({ kind: 'interrupted' });
  });
});

describe('ModelCaller, what a call that did not complete used', () => {
  it('records the usage an Anthropic stream reported before an error ended it, then the error', async () => {
    const { provider } = await PROVIDERS.anthropic(() => ({
      text: 'Starting to answer',
      streamError: { type: 'invalid_request_error', message: 'prompt is too long' },
    }));
    const h = makeCaller(provider, { price: () => 0.001 });
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('failed');
    const responses = h.of('model.response');
    expect(responses.map((e) => [e.text, e.stopReason, e.usage, e.usd])).toEqual([
      ['Starting ', 'other', { input: 10, output: 1, cacheRead: 0, cacheWrite: 0 }, 0.001],
    ]);
    expect(h.budget.usd).toBe(0.001);
    expect(h.budget.tokens).toBe(11);
    const [error] = h.of('run.error');
    expect(error!.kind).toBe('provider.bad_request');
    expect(error!.seq).toBeGreaterThan(responses[0]!.seq);
  });

  it('records nothing for a call whose usage was never reported, rather than a made-up zero', async () => {
    const { provider } = await PROVIDERS.openai(() => ({
      text: 'Starting to answer',
      streamError: { type: 'server_error', message: 'boom' },
    }));
    const h = makeCaller(provider, { price: () => 0.001 });
    expect((await h.caller.call(CALL)).kind).toBe('failed');
    expect(h.of('model.response')).toHaveLength(0);
    expect(h.budget.tokens).toBe(0);
  });
});
