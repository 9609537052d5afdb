/**
 * Which model a step runs on when the loop's `agent.route` names none (issue 12 §6).
 *
 * - `work`, `review` and `analyst` run on the loop's model: grading is where quality matters most.
 * - `triage` runs on the provider's small model (SMALL_MODELS): a short prompt with no shared prefix.
 * - `summary` (the memory handoff) runs on the small model only when that costs less. A handoff's
 *   input is the iteration's transcript, the prefix the work calls just sent, so on the loop's model
 *   it is read from the prompt cache at a tenth of the input price; on another model it is billed in
 *   full (as a cache write, on Anthropic). With Claude Sonnet 4.6 against Haiku 4.5 ($0.30 cached
 *   against $1.25 written per MTok, $15 against $5 output) the small model is cheaper only for short
 *   transcripts, so the choice is priced per call with the run's own price table, assuming the
 *   loop's model would read the whole transcript from its cache (the case least favourable to
 *   switching). An unpriced model never switches: a saving that cannot be computed is not made.
 *
 * The small model applies only where it is the same family as the loop's model on the provider's
 * own endpoint: not with `agent.base_url` (a local OpenAI-compatible server has no gpt-5-nano), not
 * for a model the family pattern does not know, and not when the loop's model is a small one already.
 */
import { SMALL_MODELS, type LoopDefinition } from '../definition/schema.js';
import type { ModelStep, TokenUsage } from '../events.js';
import type { Pricer } from './model-caller.js';

/** Model ids the small model can stand in for, per provider. */
const FAMILY: Readonly<Record<string, RegExp>> = {
  anthropic: /^claude-/,
  openai: /^(gpt-|o\d|chatgpt-)/,
};

/** Names of models that are small already: routing them to another small model saves nothing. */
const ALREADY_SMALL = /haiku|nano/;

/** About four characters a token: an estimate for choosing a model, never for billing. */
const CHARS_PER_TOKEN = 4;
/** A handoff is asked for at most 300 words: about this many tokens out. */
export const HANDOFF_OUTPUT_TOKENS = 400;

/** The small model this loop's cheap steps may use, or undefined when they keep the loop's model. */
export function smallModelOf(def: LoopDefinition): string | undefined {
  const provider = def.agent.provider;
  const small = SMALL_MODELS[provider];
  const family = FAMILY[provider];
  if (small === undefined || family === undefined) return undefined;
  if (def.agent.base_url !== undefined) return undefined;
  if (!family.test(def.model) || ALREADY_SMALL.test(def.model) || def.model === small) return undefined;
  return small;
}

/** The model for a step that has no route of its own, before any per-call pricing. */
export function routedModel(def: LoopDefinition, step: ModelStep): string {
  if (step === 'work') return def.model;
  const route = def.agent.route[step === 'analyst' ? 'review' : step];
  if (route !== undefined) return route;
  if (step === 'triage') return smallModelOf(def) ?? def.model;
  return def.model;
}

/**
 * The memory handoff's model for this request: the route if set, else the small model when it is
 * cheaper for `inputChars` of transcript than the loop's model reading it from cache.
 */
export function summaryModel(def: LoopDefinition, price: Pricer, inputChars: number): string {
  const route = def.agent.route.summary;
  if (route !== undefined) return route;
  const small = smallModelOf(def);
  if (small === undefined) return def.model;
  const tokens = Math.ceil(inputChars / CHARS_PER_TOKEN);
  const usage = (part: Partial<TokenUsage>): TokenUsage => ({
    input: 0,
    output: HANDOFF_OUTPUT_TOKENS,
    cacheRead: 0,
    cacheWrite: 0,
    ...part,
  });
  const own = price(def.model, usage({ cacheRead: tokens }));
  // Anthropic's cache markers make the small model write the prefix (1.25× input); OpenAI has no
  // write premium.
  const other = price(
    small,
    usage(def.agent.provider === 'anthropic' ? { cacheWrite: tokens } : { input: tokens }),
  );
  if (own === null || other === null) return def.model;
  return other < own ? small : def.model;
}

/** What `loops validate` says about the defaulted steps, or undefined when every step keeps the loop's model. */
export function describeStepModels(def: LoopDefinition): string | undefined {
  const small = smallModelOf(def);
  if (small === undefined) return undefined;
  const route = def.agent.route;
  const parts: string[] = [];
  if (route.triage === undefined) parts.push(`triage runs on ${small}`);
  if (route.summary === undefined)
    parts.push(
      `memory handoffs (summary) run on ${small} when that costs less than ${def.model} reading the iteration from its prompt cache`,
    );
  if (parts.length === 0) return undefined;
  const review = route.review === undefined ? `; review stays on ${def.model}` : '';
  return `${parts.join(', ')}${review}; set agent.route to choose`;
}
