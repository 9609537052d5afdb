/**
 * What the Anthropic provider keeps of a stream that did not complete: the usage reported at its
 * start, on the error; and the message so far when the SDK could not parse a tool call's input, but
 * never when something else broke (a garbled frame is a malformed body, reported as such).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { BrokenStreamError } from '../../src/models/errors.js';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { jsonErrorOf, makeRequest, providerErrorOf } from './helpers.js';

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A server that answers every request with these raw SSE frames. */
async function rawServer(frames: string[]): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(frames.join(''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

function provider(baseUrl: string): AnthropicProvider {
  return new AnthropicProvider({ env: { ANTHROPIC_API_KEY: 'k' }, baseUrl, maxRetries: 0 });
}

describe('AnthropicProvider, a stream that did not complete', () => {
  it("returns the message so far when a tool call's input is not JSON, that call marked", async () => {
    const fake = await startFakeAnthropic(() => ({
      text: 'Writing it.',
      toolCalls: [{ id: 'toolu_bad', name: 'write_file', rawInput: '{"path": a.js}' }],
      usage: { input_tokens: 300, output_tokens: 40, cache_read_input_tokens: 1000 },
    }));
    closers.push(() => fake.close());
    const response = await provider(fake.url).complete(makeRequest());

    expect(response.text).toBe('Writing it.');
    expect(response.stopReason).toBe('tool_use');
    expect(response.toolCalls).toEqual([
      {
        id: 'toolu_bad',
        name: 'write_file',
        input: { __invalid_json__: '{"path": a.js}', __parse_error__: jsonErrorOf('{"path": a.js}') },
      },
    ]);
    // The input as message_start reported it; the output, which the SDK never read, counted here.
    expect(response.usage).toMatchObject({ input: 300, cacheRead: 1000, cacheWrite: 0 });
    expect(response.usage.output).toBeGreaterThan(1);
  });

  it('puts the usage reported at the start on the error of a stream broken by a garbled frame', async () => {
    const url = await rawServer([
      frame('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-test',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 250, output_tokens: 1 },
        },
      }),
      frame('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: {} },
      }),
      frame('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json: '{"path": "a' },
      }),
      frame('content_block_delta', '{not json'),
    ]);
    const error = await providerErrorOf(provider(url).complete(makeRequest()));

    // Not mistaken for a tool call with bad input, nor for a connection that broke off: malformed.
    expect(error).not.toBeInstanceOf(BrokenStreamError);
    expect(error.kind).toBe('malformed');
    expect(error.message).toContain('malformed body');
    expect(error.spent).toEqual({
      usage: { input: 250, output: 1, cacheRead: 0, cacheWrite: 0 },
      model: 'claude-test',
    });
  });
});
