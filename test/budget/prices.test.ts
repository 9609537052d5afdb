import { describe, expect, it } from 'vitest';
import type { TokenUsage } from '../../src/core/events.js';
import { priceCall, pricerFor, unpricedWarnings } from '../../src/core/budget/prices.js';

function usage(u: Partial<TokenUsage>): TokenUsage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, ...u };
}

// Claude Sonnet 4.5 per million tokens: $3 input, $3.75 5-minute cache write, $6 1-hour cache
// write, $0.30 cache read, $15 output (below 200k input tokens). GPT-4o: $2.50 input, $1.25 cached
// input, $10 output.
describe('priceCall', () => {
  it('prices uncached input and output', () => {
    // 10,000 × $3/M + 2,000 × $15/M = $0.03 + $0.03
    expect(priceCall('anthropic', 'claude-sonnet-4-5', usage({ input: 10_000, output: 2_000 }))).toBeCloseTo(
      0.06,
      10,
    );
  });

  it('prices cache reads at their own rate', () => {
    // 10,000 × $3/M + 50,000 × $0.30/M = $0.03 + $0.015
    expect(
      priceCall('anthropic', 'claude-sonnet-4-5', usage({ input: 10_000, cacheRead: 50_000 })),
    ).toBeCloseTo(0.045, 10);
  });

  it('prices 5-minute cache writes at 1.25× input', () => {
    // 20,000 × $3.75/M
    expect(priceCall('anthropic', 'claude-sonnet-4-5', usage({ cacheWrite: 20_000 }))).toBeCloseTo(0.075, 10);
  });

  it('prices the 1-hour share of cache writes at 2× input', () => {
    // 12,000 × $3.75/M (5m) + 8,000 × $6/M (1h) = $0.045 + $0.048
    const u = usage({ cacheWrite: 20_000, cacheWrite1h: 8_000 });
    expect(priceCall('anthropic', 'claude-sonnet-4-5', u)).toBeCloseTo(0.093, 10);
  });

  it('adds every part of a mixed call', () => {
    // in $0.03 + read $0.015 + 5m $0.045 + 1h $0.048 + out $0.03
    const u = usage({
      input: 10_000,
      cacheRead: 50_000,
      cacheWrite: 20_000,
      cacheWrite1h: 8_000,
      output: 2_000,
    });
    expect(priceCall('anthropic', 'claude-sonnet-4-5', u)).toBeCloseTo(0.168, 10);
  });

  it('prices a dated model id by its family', () => {
    expect(priceCall('anthropic', 'claude-sonnet-4-5-20250929', usage({ input: 10_000 }))).toBeCloseTo(
      0.03,
      10,
    );
  });

  it('prices OpenAI cached input (counted apart from uncached input in our usage)', () => {
    // 60,000 × $2.50/M + 40,000 × $1.25/M + 1,000 × $10/M = $0.15 + $0.05 + $0.01
    const u = usage({ input: 60_000, cacheRead: 40_000, output: 1_000 });
    expect(priceCall('openai', 'gpt-4o', u)).toBeCloseTo(0.21, 10);
  });

  it('bills a CLI agent as the API behind it', () => {
    expect(priceCall('claude-code', 'claude-sonnet-4-5', usage({ input: 10_000 }))).toBeCloseTo(0.03, 10);
  });

  it('applies the long-context tier the table carries (Sonnet 4.5 above 200k input: $6/M)', () => {
    expect(priceCall('anthropic', 'claude-sonnet-4-5', usage({ input: 250_000 }))).toBeCloseTo(1.5, 10);
  });

  it('leaves an unknown model unpriced: null, never 0', () => {
    expect(priceCall('anthropic', 'claude-no-such-model', usage({ input: 10, output: 10 }))).toBeNull();
    expect(priceCall('openai', 'llama3.2', usage({ input: 10, output: 10 }))).toBeNull();
    expect(priceCall('command', 'default', usage({ input: 10, output: 10 }))).toBeNull();
  });

  it('leaves impossible counts unpriced instead of guessing', () => {
    expect(priceCall('anthropic', 'claude-sonnet-4-5', usage({ input: -1 }))).toBeNull();
    expect(priceCall('anthropic', 'claude-sonnet-4-5', usage({ input: Number.NaN }))).toBeNull();
  });

  it('prices the scripted model at exactly $0, whatever model id it reports', () => {
    expect(priceCall('scripted', 'scripted', usage({ input: 5_000, output: 500 }))).toBe(0);
    expect(priceCall('scripted', 'claude-sonnet-4-5', usage({ input: 5_000, output: 500 }))).toBe(0);
  });
});

describe('pricerFor and unpricedWarnings', () => {
  it('closes over the provider', () => {
    expect(pricerFor('anthropic')('claude-sonnet-4-5', usage({ output: 1_000 }))).toBeCloseTo(0.015, 10);
    expect(pricerFor('scripted')('claude-sonnet-4-5', usage({ output: 1_000 }))).toBe(0);
  });

  it('reports each unpriced model once, naming it and the caps', () => {
    const messages: string[] = [];
    const warn = unpricedWarnings({ usd: 2, tokens: 50_000 }, (m) => messages.push(m));
    warn('llama3.2');
    warn('llama3.2');
    warn('qwen3');
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('llama3.2');
    expect(messages[0]).toContain('usd budget ($2) cannot be enforced');
    expect(messages[0]).toContain('tokens budget (50000) still applies');
    expect(messages[1]).toContain('qwen3');
  });
});
