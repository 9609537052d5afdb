/**
 * Every retry is a call, and one clock bounds it: ModelCaller with the real providers and SDKs against
 * the fake servers. A 429 or a 500 is retried as an attempt of its own (its own model.request, a
 * provider.retry between), checked against the caps; a retry-after longer than the time left ends the
 * call on its minutes budget at once; a stop, a `!` and the deadline each end a hung request or a retry
 * wait; a timeout is a timeout and a body that is not JSON is malformed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { OpenAIProvider } from '../../src/models/openai.js';
import type { ModelProvider } from '../../src/models/provider.js';
import { startFakeAnthropic, type FakeAnthropicReply } from '../support/fake-anthropic.js';
import { startFakeOpenAI, type FakeOpenAIReply } from '../support/fake-openai.js';
import { makeCaller, makeRequest, providerErrorOf } from './helpers.js';

type Reply = FakeAnthropicReply & FakeOpenAIReply;
type Name = 'anthropic' | 'openai';

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function setup(
  name: Name,
  handler: (index: number) => Reply,
  maxRetries = 2,
): Promise<{ provider: ModelProvider; requests: () => number }> {
  if (name === 'anthropic') {
    const fake = await startFakeAnthropic((_body, index) => handler(index));
    closers.push(() => fake.close());
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: 'k' },
      baseUrl: fake.url,
      maxRetries,
    });
    return { provider, requests: () => fake.requests.length };
  }
  const fake = await startFakeOpenAI((_body, index) => handler(index));
  closers.push(() => fake.close());
  const provider = new OpenAIProvider({ env: { OPENAI_API_KEY: 'k' }, baseUrl: fake.url, maxRetries });
  return { provider, requests: () => fake.requests.length };
}

const CALL = {
  step: 'work' as const,
  system: 'You fix failing tests.',
  messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Fix them.' }] }],
};

const RATE_LIMITED = (retryAfter: string): Reply => ({
  error: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfter },
});

describe.each(['anthropic', 'openai'] as const)('retries and the deadline with %s', (name) => {
  it('retries a 429 after its retry-after, as a call of its own, visible in the trace', async () => {
    const { provider, requests } = await setup(name, (i) => (i === 0 ? RATE_LIMITED('0') : { text: 'ok' }));
    const h = makeCaller(provider);
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('ok');
    expect(requests()).toBe(2);
    const retries = h.of('provider.retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({
      provider: name,
      attempt: 1,
      status: 429,
      kind: 'rate_limit',
      waitMs: 0,
      waitFrom: 'retry-after',
      usage: 'unknown',
    });
    expect(retries[0]!.reason).toContain('limiting the request rate');
    const requested = h.of('model.request');
    expect(requested.map((e) => e.seq < retries[0]!.seq)).toEqual([true, false]);
    expect(h.of('run.error')).toHaveLength(0);
  });

  it('retries a 500 with its own back-off when the API names no wait, up to maxRetries', async () => {
    const { provider, requests } = await setup(
      name,
      () => ({ error: { status: 500, type: 'api_error', message: 'boom' } }),
      2,
    );
    const waits: number[] = [];
    const h = makeCaller(provider, { backoff: (attempt) => (waits.push(attempt), 0) });
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('failed');
    expect(requests()).toBe(3);
    expect(waits).toEqual([1, 2]);
    expect(h.of('provider.retry').map((e) => [e.attempt, e.status, e.waitFrom])).toEqual([
      [1, 500, 'backoff'],
      [2, 500, 'backoff'],
    ]);
    expect(h.of('model.request')).toHaveLength(3);
    expect(h.of('run.error').map((e) => e.kind)).toEqual(['provider.server']);
  });

  it('ends on the minutes budget at once when retry-after is longer than the time left', async () => {
    const { provider, requests } = await setup(name, () => RATE_LIMITED('3600'));
    const h = makeCaller(provider, { front: { budget: { minutes: 5 } } });
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('budget');
    if (result.kind !== 'budget') return;
    expect(result.breach.cap).toBe('minutes');
    expect(result.breach.why).toMatch(
      new RegExp(`^${name} asked to wait 3600s before a retry, longer than the`),
    );
    expect(requests()).toBe(1);
    expect(h.of('provider.retry')).toHaveLength(0);
    const [error] = h.of('run.error');
    expect(error!.kind).toBe('provider.rate_limit');
    expect(error!.message).toContain('asked to wait 3600s');
  });

  it('is stopped during a retry wait', async () => {
    const { provider, requests } = await setup(name, () => RATE_LIMITED('600'));
    const h = makeCaller(provider, { front: { budget: { minutes: 600 } } });
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(h.of('provider.retry')).toHaveLength(1));
    h.control.stop();
    expect(await pending).toEqual({ kind: 'stopped' });
    expect(requests()).toBe(1);
  });

  it("is interrupted by a person's `!` during a retry wait", async () => {
    const { provider } = await setup(name, () => RATE_LIMITED('600'));
    const h = makeCaller(provider, { front: { budget: { minutes: 600 } } });
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(h.of('provider.retry')).toHaveLength(1));
    h.control.instruct('try the other file', true);
    expect(await pending).toEqual({ kind: 'interrupted' });
  });

  it('ends a retry wait on the deadline, on the minutes budget', async () => {
    const { provider } = await setup(name, () => ({ text: 'Starting', cut: true }));
    // 0.01 minutes is 600 ms; the back-off asks for 500 ms, so the wait starts and the deadline ends it.
    const h = makeCaller(provider, { front: { budget: { minutes: 0.01 } }, backoff: () => 500 });
    const pending = h.caller.call(CALL);
    const result = await pending;
    expect(result.kind).toBe('budget');
    expect(result.kind === 'budget' && result.breach.cap).toBe('minutes');
  });

  it('stops a request that hangs before any answer at the deadline, as a budget end, not "could not reach"', async () => {
    const { provider, requests } = await setup(name, () => ({ silent: true }));
    const h = makeCaller(provider, { front: { budget: { minutes: 0.01 } } });
    const result = await h.caller.call(CALL);

    expect(result).toMatchObject({ kind: 'budget', breach: { cap: 'minutes', limit: 0.01 } });
    expect(requests()).toBe(1);
    expect(h.of('run.error')).toHaveLength(0);
    expect(h.of('provider.retry')).toHaveLength(0);
  });

  it('stops a stream that hangs midway at the deadline, billing what it had reported', async () => {
    const { provider } = await setup(name, () => ({ text: 'Thinking for a long time', hang: true }));
    const h = makeCaller(provider, { front: { budget: { minutes: 0.01 } } });
    const result = await h.caller.call(CALL);

    expect(result).toMatchObject({ kind: 'budget', breach: { cap: 'minutes' } });
    expect(h.of('model.delta').map((e) => e.text)).toEqual(['Thinking ']);
    // Anthropic reports the input at message_start; OpenAI only in its last chunk.
    expect(h.of('model.response')).toHaveLength(name === 'anthropic' ? 1 : 0);
  });

  it('is stopped while a request hangs before any answer', async () => {
    const { provider, requests } = await setup(name, () => ({ silent: true }));
    const h = makeCaller(provider, { front: { budget: { minutes: 600 } } });
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(requests()).toBe(1));
    h.control.stop();
    h.control.stop(); // a second Ctrl-C
    expect(await pending).toEqual({ kind: 'stopped' });
  });

  it('reports a request that got no answer in its timeout as a timeout, not "could not reach"', async () => {
    const { provider } = await setup(name, () => ({ silent: true }));
    const error = await providerErrorOf(provider.complete(makeRequest({ timeoutMs: 300 })));
    expect(error.kind).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('did not answer within 0.3s');
    expect(error.message).not.toContain('could not reach');
  });

  it('reports a body that is not JSON as malformed, not as a connection that broke off', async () => {
    const { provider, requests } = await setup(name, () => ({ text: 'Starting to answer', malformed: true }));
    const h = makeCaller(provider);
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('failed');
    if (result.kind !== 'failed') return;
    expect(result.error.kind).toBe('malformed');
    expect(result.error.message).toContain('malformed body');
    expect(result.error.message).not.toContain('broke off');
    expect(requests()).toBe(1);
    expect(h.of('run.error').map((e) => e.kind)).toEqual(['provider.malformed']);
  });
});

describe('a retry is checked against the caps', () => {
  it('refuses to retry a cut stream once what the cut attempt used reaches the tokens cap', async () => {
    // The cut attempt reported 10 input + 1 output tokens at its start: the cap is reached.
    const { provider, requests } = await setup('anthropic', () => ({
      text: 'Starting to answer',
      cut: true,
    }));
    const h = makeCaller(provider, { front: { budget: { tokens: 11 } } });
    const result = await h.caller.call(CALL);

    expect(result).toMatchObject({ kind: 'budget', breach: { cap: 'tokens', limit: 11, used: 11 } });
    expect(requests()).toBe(1);
    expect(h.of('model.request')).toHaveLength(1);
    expect(h.of('provider.retry')).toHaveLength(1);
    expect(h.budget.tokens).toBe(11);
  });

  it('retries a cut stream while under the cap, and bills both attempts', async () => {
    const { provider, requests } = await setup('anthropic', (i) =>
      i === 0 ? { text: 'Starting to answer', cut: true } : { text: 'Whole.' },
    );
    const h = makeCaller(provider, { front: { budget: { tokens: 1000 } } });
    expect((await h.caller.call(CALL)).kind).toBe('ok');
    expect(requests()).toBe(2);
    expect(h.budget.tokens).toBe(11 + 15);
  });
});
