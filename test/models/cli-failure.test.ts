import { describe, expect, it } from 'vitest';
import { usesProxy } from '../../src/models/cli-endpoint.js';
import { classifyCliMessage, cliFailure } from '../../src/models/cli-failure.js';

describe('the kind of a CLI agent failure, from its words', () => {
  it.each([
    ['unexpected status 401 Unauthorized: Incorrect API key provided', 'auth', false],
    ['Invalid API key · Please run /login', 'auth', false],
    ['Your access token could not be refreshed because your refresh token was already used', 'auth', false],
    ["You've hit your usage limit. Upgrade to Pro or try again at 3:05 PM.", 'rate_limit', false],
    ['Quota exceeded. Check your plan and billing details.', 'auth', false],
    ['exceeded retry limit, last status: 429 Too Many Requests', 'rate_limit', true],
    ['API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}', 'overloaded', true],
    [
      'stream disconnected before completion: error sending request for url (http://127.0.0.1:9/v1/responses)',
      'connection',
      true,
    ],
    ['API Error: Connection error.', 'connection', true],
    ["Codex ran out of room in the model's context window. Start a new thread.", 'bad_request', false],
    ['unexpected status 500 Internal Server Error', 'server', true],
    ['something else entirely', 'server', false],
  ])('%s → %s', (text, kind, retryable) => {
    expect(classifyCliMessage(text)).toEqual({ kind, retryable });
  });

  it('names the endpoint and its setting in a connection error', () => {
    const error = cliFailure(
      {
        provider: 'codex',
        title: 'Codex',
        login: 'OPENAI_API_KEY',
        endpoint: { url: 'http://x:1/v1', source: 'agent.base_url' },
      },
      'fetch failed',
    );
    expect(error.kind).toBe('connection');
    expect(error.message).toBe(
      'Codex could not reach its model API at http://x:1/v1 (agent.base_url); check that it runs and the URL is right: fetch failed',
    );
  });

  it('sees a proxy in any case of the usual variables, and not an empty one', () => {
    expect(usesProxy({ https_proxy: 'http://p:1' })).toBe(true);
    expect(usesProxy({ ALL_PROXY: 'socks5://p:1' })).toBe(true);
    expect(usesProxy({ HTTP_PROXY: '  ' })).toBe(false);
    expect(usesProxy({ NO_PROXY: 'localhost' })).toBe(false);
  });
});
