import { describe, expect, it } from 'vitest';
import { countRequestTokens, countResponseTokens, countTokens } from '../../src/models/tokens.js';
import { makeRequest, READ_FILE, toolRoundTripRequest } from './helpers.js';

describe('countTokens', () => {
  it('counts o200k_base tokens', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('hello world')).toBe(2);
  });

  it('counts a long text the same when asked again, and a text one word longer as longer', () => {
    const long = 'word '.repeat(400);
    expect(countTokens(long)).toBe(401);
    expect(countTokens(long)).toBe(401);
    // Equal content in another string object, and more than the recent counts kept in between.
    for (let i = 0; i < 100; i++) countTokens(`${i} ${'other '.repeat(100)}`);
    expect(countTokens('word '.repeat(400))).toBe(401);
    expect(countTokens(`${long}word `)).toBe(402);
  });

  it('counts special-token text as plain text instead of throwing', () => {
    expect(countTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('counts every part of a request: system, texts, tool uses, tool results and tool specs', () => {
    const base = makeRequest({ system: '', messages: [] });
    expect(countRequestTokens(base)).toBe(0);
    expect(countRequestTokens({ ...base, tools: [READ_FILE] })).toBe(
      countTokens(JSON.stringify([READ_FILE])),
    );
    const full = toolRoundTripRequest();
    const withoutResults = toolRoundTripRequest({ messages: full.messages.slice(0, 2) });
    expect(countRequestTokens(full)).toBeGreaterThan(countRequestTokens(withoutResults));
  });

  it('counts a response as its text plus its tool calls', () => {
    const calls = [{ id: 'call_1', name: 'run', input: { command: 'npm test' } }];
    expect(countResponseTokens('done', [])).toBe(countTokens('done'));
    expect(countResponseTokens('done', calls)).toBe(countTokens('done') + countTokens(JSON.stringify(calls)));
  });
});
