import { describe, expect, it } from 'vitest';
import { countRequestTokens, countResponseTokens, countTokens } from '../../src/models/tokens.js';
import { makeRequest, READ_FILE, toolRoundTripRequest } from './helpers.js';

describe('countTokens', () => {
  it('counts o200k_base tokens', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('hello world')).toBe(2);
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
