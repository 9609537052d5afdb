/**
 * Notices prompt caching that should have happened and did not. Providers cache silently: a prefix
 * below the model's minimum, or one that changed between calls, just comes back with both cache
 * counters at 0 and the full price. That is worth one line in the trace per model per run.
 */
import { createHash } from 'node:crypto';
import type { TokenUsage } from '../core/events.js';
import type { ModelRequest } from './provider.js';
import { countTokens } from './tokens.js';

/** Below this no provider caches (Anthropic's Sonnet-class minimum and OpenAI's threshold). */
export const MIN_CACHEABLE_TOKENS = 1024;

export interface CacheMiss {
  prefixTokens: number;
  reason: string;
}

export class CacheWatch {
  private readonly reported = new Set<string>();
  /** Prefixes sent before in this run, per model: OpenAI only reads (never reports writes) on a repeat. */
  private readonly seen = new Set<string>();
  private readonly counted = new Map<string, number>();

  /** The miss to report for this call, once per model; undefined when caching worked or was not expected. */
  check(
    provider: string,
    request: Pick<ModelRequest, 'model' | 'system' | 'tools'>,
    usage: TokenUsage,
  ): CacheMiss | undefined {
    if (provider !== 'anthropic' && provider !== 'openai') return undefined;
    const key = prefixKey(request);
    const repeated = this.seen.has(key);
    this.seen.add(key);
    if (this.reported.has(request.model)) return undefined;
    if (usage.cacheRead > 0 || usage.cacheWrite > 0) return undefined;
    // OpenAI writes its cache without saying so (before GPT-5.6), so a first call shows nothing.
    if (provider === 'openai' && !repeated) return undefined;
    const prefixTokens = this.prefixTokens(key, request);
    if (prefixTokens < MIN_CACHEABLE_TOKENS) return undefined;
    this.reported.add(request.model);
    const reason =
      provider === 'anthropic'
        ? `the stable prefix (system + tools) is ${prefixTokens} tokens, yet anthropic reported no cache ` +
          `reads or writes: the model's minimum cacheable prefix may be higher (up to 4096 tokens), ` +
          `or the prefix changed between calls`
        : `a ${prefixTokens}-token stable prefix (system + tools) was sent again, yet openai reported no ` +
          `cached tokens: the server may not cache prompts (an OpenAI-compatible server), or the ` +
          `requests were routed to different machines`;
    return { prefixTokens, reason };
  }

  private prefixTokens(key: string, request: Pick<ModelRequest, 'system' | 'tools'>): number {
    let tokens = this.counted.get(key);
    if (tokens === undefined) {
      tokens =
        countTokens(request.system) +
        (request.tools.length > 0 ? countTokens(JSON.stringify(request.tools)) : 0);
      this.counted.set(key, tokens);
    }
    return tokens;
  }
}

function prefixKey(request: Pick<ModelRequest, 'model' | 'system' | 'tools'>): string {
  return createHash('sha256')
    .update(request.model)
    .update('\0')
    .update(request.system)
    .update('\0')
    .update(JSON.stringify(request.tools))
    .digest('hex');
}
