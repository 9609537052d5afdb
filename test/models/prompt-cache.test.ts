/** The fake's prompt-caching rules, which the cost benchmark relies on. */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { countTokens } from '../../src/models/tokens.js';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { PromptCache } from '../support/prompt-cache.js';

const LONG = 'The task, the rules and the skills. '.repeat(200);
const MARK = { type: 'ephemeral' };
const S = countTokens(LONG);

type Body = Record<string, unknown>;

function body(messages: Array<{ role: string; texts: string[]; markLast?: boolean }>, system = LONG): Body {
  return {
    model: 'claude-sonnet-4-6',
    system: [{ type: 'text', text: system, cache_control: MARK }],
    messages: messages.map((m) => ({
      role: m.role,
      content: m.texts.map((text, i) => ({
        type: 'text',
        text,
        ...(m.markLast && i === m.texts.length - 1 ? { cache_control: MARK } : {}),
      })),
    })),
  };
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const tokens = (...texts: string[]): number => texts.reduce((n, t) => n + countTokens(t), 0);

describe('PromptCache', () => {
  it('never caches a prefix below the minimum length, and says nothing about it', () => {
    const cache = new PromptCache();
    const short = body([{ role: 'user', texts: ['hi'] }], 'A short system prompt.');
    for (const _ of [1, 2]) {
      expect(cache.usage(short)).toMatchObject({
        input_tokens: tokens('A short system prompt.', 'hi'),
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      });
    }
  });

  it('writes up to the last breakpoint, then reads the longest cached prefix and writes only the new part', () => {
    const cache = new PromptCache();
    const first = cache.usage(body([{ role: 'user', texts: ['Fix the tests.'], markLast: true }]));
    expect(first).toEqual({
      input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: S + tokens('Fix the tests.'),
      cache_creation: {
        ephemeral_5m_input_tokens: S + tokens('Fix the tests.'),
        ephemeral_1h_input_tokens: 0,
      },
    });
    const second = cache.usage(
      body([
        { role: 'user', texts: ['Fix the tests.'] },
        { role: 'assistant', texts: ['Reading them.'] },
        { role: 'user', texts: ['They fail.', 'Go on.'], markLast: true },
      ]),
    );
    expect(second.cache_read_input_tokens).toBe(S + tokens('Fix the tests.'));
    expect(second.cache_creation_input_tokens).toBe(tokens('Reading them.', 'They fail.', 'Go on.'));
    expect(second.input_tokens).toBe(0);
  });

  it('bills what comes after the last breakpoint as plain input', () => {
    const cache = new PromptCache();
    const usage = cache.usage(body([{ role: 'user', texts: ['Memory and feedback.'] }]));
    expect(usage).toMatchObject({
      input_tokens: tokens('Memory and feedback.'),
      cache_creation_input_tokens: S,
    });
  });

  it('misses when one byte of the prefix changed', () => {
    const cache = new PromptCache();
    cache.usage(body([{ role: 'user', texts: ['x'] }]));
    const changed = cache.usage(body([{ role: 'user', texts: ['x'] }], `${LONG}!`));
    expect(changed.cache_read_input_tokens).toBe(0);
    expect(changed.cache_creation_input_tokens).toBe(countTokens(`${LONG}!`));
  });

  it('expires an entry 5 minutes after its last use; a read renews it', () => {
    const time = clock();
    const cache = new PromptCache({ now: time.now });
    const request = body([{ role: 'user', texts: ['x'] }]);
    cache.usage(request);
    time.advance(4 * 60_000);
    expect(cache.usage(request).cache_read_input_tokens).toBe(S);
    time.advance(4 * 60_000);
    expect(cache.usage(request).cache_read_input_tokens).toBe(S);
    time.advance(5 * 60_000);
    const expired = cache.usage(request);
    expect(expired.cache_read_input_tokens).toBe(0);
    expect(expired.cache_creation_input_tokens).toBe(S);
  });

  it('keeps 1-hour entries for an hour and reports their writes apart', () => {
    const time = clock();
    const cache = new PromptCache({ now: time.now });
    const request: Body = {
      model: 'claude-sonnet-4-6',
      system: [{ type: 'text', text: LONG, cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: MARK }] }],
    };
    expect(cache.usage(request).cache_creation).toEqual({
      ephemeral_5m_input_tokens: tokens('hi'),
      ephemeral_1h_input_tokens: S,
    });
    time.advance(30 * 60_000);
    expect(cache.usage(request)).toMatchObject({
      cache_read_input_tokens: S,
      cache_creation_input_tokens: tokens('hi'),
    });
  });

  it('looks back at most 20 blocks from a breakpoint for an earlier entry', () => {
    const cache = new PromptCache();
    const first = [{ role: 'user', texts: ['start'], markLast: true }];
    cache.usage(body(first));
    const near = Array.from({ length: 19 }, (_, i) => `near ${i}`);
    expect(
      cache.usage(body([{ role: 'user', texts: ['start', ...near], markLast: true }]))
        .cache_read_input_tokens,
    ).toBe(S + tokens('start'));
    const far = Array.from({ length: 25 }, (_, i) => `far ${i}`);
    // Only the system prompt's own breakpoint is found now.
    expect(
      cache.usage(body([{ role: 'user', texts: ['start', ...far], markLast: true }])).cache_read_input_tokens,
    ).toBe(S);
  });

  it('is what the fake server reports, and the fake refuses a fifth breakpoint like the API', async () => {
    const fake = await startFakeAnthropic(() => ({ text: 'ok', usage: { output_tokens: 3 } }), {
      cache: new PromptCache(),
    });
    try {
      const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, logLevel: 'off' });
      const params = {
        model: 'claude-sonnet-4-6',
        max_tokens: 10,
        system: [{ type: 'text' as const, text: LONG, cache_control: { type: 'ephemeral' as const } }],
        messages: [{ role: 'user' as const, content: 'hi' }],
      };
      const first = await client.messages.create(params);
      const second = await client.messages.create(params);
      expect(first.usage).toMatchObject({ cache_creation_input_tokens: S, output_tokens: 3 });
      expect(second.usage).toMatchObject({ cache_read_input_tokens: S, input_tokens: tokens('hi') });

      const five = Array.from({ length: 5 }, (_, i) => ({
        type: 'text' as const,
        text: `part ${i}`,
        cache_control: { type: 'ephemeral' as const },
      }));
      await expect(client.messages.create({ ...params, system: five })).rejects.toThrow(
        'A maximum of 4 blocks with cache_control may be provided. Found 5.',
      );
    } finally {
      await fake.close();
    }
  });
});
