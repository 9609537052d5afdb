/** The fake servers themselves, through the SDKs' non-streaming and raw streaming calls. */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { startFakeOpenAI } from '../support/fake-openai.js';

describe('fake servers', () => {
  it('Anthropic: answers non-streaming requests with a message the SDK parses', async () => {
    const fake = await startFakeAnthropic(() => ({
      text: 'Calling a tool.',
      toolCalls: [{ id: 'toolu_x', name: 'read_file', input: { path: 'a.js' } }],
      usage: { input_tokens: 4, output_tokens: 6, cache_read_input_tokens: 2 },
    }));
    try {
      const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, logLevel: 'off' });
      const message = await client.messages.create({
        model: 'claude-test',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(message.content).toEqual([
        { type: 'text', text: 'Calling a tool.' },
        { type: 'tool_use', id: 'toolu_x', name: 'read_file', input: { path: 'a.js' } },
      ]);
      expect(message).toMatchObject({ model: 'claude-test', stop_reason: 'tool_use' });
      expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 6, cache_read_input_tokens: 2 });
      expect(fake.requests[0]!.body.stream).toBeUndefined();
    } finally {
      await fake.close();
    }
  });

  it('Anthropic: every stream frame names its event', async () => {
    const fake = await startFakeAnthropic(() => ({ text: 'a b', toolCalls: [{ name: 't', input: {} }] }));
    try {
      const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, logLevel: 'off' });
      const stream = await client.messages.create({
        model: 'm',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      expect(types).toEqual([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
    } finally {
      await fake.close();
    }
  });

  it('OpenAI: answers non-streaming requests with a completion the SDK parses', async () => {
    const fake = await startFakeOpenAI(() => ({
      toolCalls: [{ id: 'call_x', name: 'run', input: { command: 'ls' } }],
      usage: { prompt_tokens: 20, completion_tokens: 3, cached_tokens: 8 },
    }));
    try {
      const client = new OpenAI({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, logLevel: 'off' });
      const completion = await client.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(completion.choices[0]).toMatchObject({
        finish_reason: 'tool_calls',
        message: {
          content: null,
          tool_calls: [
            { id: 'call_x', type: 'function', function: { name: 'run', arguments: '{"command":"ls"}' } },
          ],
        },
      });
      expect(completion.usage).toMatchObject({
        prompt_tokens: 20,
        prompt_tokens_details: { cached_tokens: 8 },
      });
    } finally {
      await fake.close();
    }
  });

  it('OpenAI: sends the usage chunk (choices: [], with an id) only when include_usage is set', async () => {
    const fake = await startFakeOpenAI(() => ({ text: 'a b c' }));
    try {
      const client = new OpenAI({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, logLevel: 'off' });
      const collect = async (includeUsage: boolean) => {
        const stream = await client.chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        });
        const chunks = [];
        for await (const chunk of stream) chunks.push(chunk);
        return chunks;
      };
      const plain = await collect(false);
      expect(plain.some((chunk) => chunk.usage)).toBe(false);
      expect(plain.at(-1)!.choices[0]!.finish_reason).toBe('stop');
      const withUsage = await collect(true);
      expect(withUsage.at(-1)).toMatchObject({ id: 'chatcmpl-2', choices: [], usage: { prompt_tokens: 10 } });
    } finally {
      await fake.close();
    }
  });
});
