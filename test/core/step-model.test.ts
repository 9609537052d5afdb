/** Which model each step runs on without a route: priced with the real price table. */
import { describe, expect, it } from 'vitest';
import { priceCall } from '../../src/core/budget/prices.js';
import {
  describeStepModels,
  routedModel,
  smallModelOf,
  summaryModel,
} from '../../src/core/run/step-model.js';
import { makeDefinition } from '../models/helpers.js';

const anthropicPrice = (model: string, usage: Parameters<typeof priceCall>[2]) =>
  priceCall('anthropic', model, usage);
const openaiPrice = (model: string, usage: Parameters<typeof priceCall>[2]) =>
  priceCall('openai', model, usage);

const sonnet = makeDefinition({ agent: { provider: 'anthropic' } }, 'claude-sonnet-4-6');
const mini = makeDefinition({ agent: { provider: 'openai' } }, 'gpt-5-mini');

describe('smallModelOf', () => {
  it("is the provider's small model for a model of its family", () => {
    expect(smallModelOf(sonnet)).toBe('claude-haiku-4-5');
    expect(smallModelOf(mini)).toBe('gpt-5-nano');
  });

  it('keeps the loop model for CLI agents, scripted, a custom endpoint, a foreign name or a small model', () => {
    for (const provider of ['claude-code', 'codex', 'command', 'scripted'])
      expect(
        smallModelOf(
          makeDefinition(
            { agent: { provider, ...(provider === 'command' ? { command: ['x'] } : {}) } },
            'default',
          ),
        ),
      ).toBeUndefined();
    const local = makeDefinition(
      { agent: { provider: 'openai', base_url: 'http://127.0.0.1:11434/v1' } },
      'gpt-5-mini',
    );
    expect(smallModelOf(local)).toBeUndefined();
    expect(smallModelOf(makeDefinition({ agent: { provider: 'openai' } }, 'llama3.1'))).toBeUndefined();
    expect(
      smallModelOf(makeDefinition({ agent: { provider: 'anthropic' } }, 'claude-haiku-4-5')),
    ).toBeUndefined();
    expect(smallModelOf(makeDefinition({ agent: { provider: 'openai' } }, 'gpt-4.1-nano'))).toBeUndefined();
  });
});

describe('routedModel', () => {
  it('puts triage on the small model and keeps work, review and analyst on the strong one', () => {
    expect(routedModel(sonnet, 'triage')).toBe('claude-haiku-4-5');
    for (const step of ['work', 'review', 'analyst'] as const)
      expect(routedModel(sonnet, step)).toBe('claude-sonnet-4-6');
  });

  it('follows agent.route over every default', () => {
    const routed = makeDefinition(
      { agent: { provider: 'anthropic', route: { triage: 't-model', review: 'r-model' } } },
      'claude-sonnet-4-6',
    );
    expect(routedModel(routed, 'triage')).toBe('t-model');
    expect(routedModel(routed, 'review')).toBe('r-model');
    expect(routedModel(routed, 'analyst')).toBe('r-model');
    expect(routedModel(routed, 'work')).toBe('claude-sonnet-4-6');
  });
});

describe('summaryModel', () => {
  it('uses Haiku for a short transcript and Sonnet (read from its cache) for a long one', () => {
    expect(summaryModel(sonnet, anthropicPrice, 4 * 2_000)).toBe('claude-haiku-4-5');
    expect(summaryModel(sonnet, anthropicPrice, 4 * 50_000)).toBe('claude-sonnet-4-6');
  });

  it('switches where the priced costs cross, not at a fixed size', () => {
    // Sonnet: 0.30 cached + 15 out; Haiku: 1.25 written + 5 out, per MTok, 400 tokens out:
    // equal at 400 × 10 / 0.95 ≈ 4,210 tokens in.
    expect(summaryModel(sonnet, anthropicPrice, 4 * 4_100)).toBe('claude-haiku-4-5');
    expect(summaryModel(sonnet, anthropicPrice, 4 * 4_300)).toBe('claude-sonnet-4-6');
  });

  it('uses gpt-5-nano for OpenAI up to a longer transcript (no cache-write premium)', () => {
    expect(summaryModel(mini, openaiPrice, 4 * 20_000)).toBe('gpt-5-nano');
    expect(summaryModel(mini, openaiPrice, 4 * 100_000)).toBe('gpt-5-mini');
  });

  it('never switches when either model is unpriced, and follows route.summary', () => {
    expect(summaryModel(sonnet, () => null, 10)).toBe('claude-sonnet-4-6');
    expect(summaryModel(sonnet, (m, u) => (m === 'claude-haiku-4-5' ? null : anthropicPrice(m, u)), 10)).toBe(
      'claude-sonnet-4-6',
    );
    const routed = makeDefinition(
      { agent: { provider: 'anthropic', route: { summary: 'x' } } },
      'claude-sonnet-4-6',
    );
    expect(summaryModel(routed, anthropicPrice, 10)).toBe('x');
  });
});

describe('describeStepModels', () => {
  it('names the small model, the condition and the way to change it', () => {
    expect(describeStepModels(sonnet)).toBe(
      'triage runs on claude-haiku-4-5, memory handoffs (summary) run on claude-haiku-4-5 when that costs less than claude-sonnet-4-6 reading the iteration from its prompt cache; review stays on claude-sonnet-4-6; set agent.route to choose',
    );
  });

  it('says nothing when every cheap step is routed or the provider keeps its own model', () => {
    const routed = makeDefinition(
      { agent: { provider: 'anthropic', route: { triage: 'a', summary: 'b' } } },
      'claude-sonnet-4-6',
    );
    expect(describeStepModels(routed)).toBeUndefined();
    expect(
      describeStepModels(makeDefinition({ agent: { provider: 'scripted' } }, 'scripted')),
    ).toBeUndefined();
  });
});
