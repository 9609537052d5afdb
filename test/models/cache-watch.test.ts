import { describe, expect, it } from 'vitest';
import type { TokenUsage } from '../../src/core/events.js';
import { CacheWatch } from '../../src/models/cache-watch.js';
import { countTokens } from '../../src/models/tokens.js';
import { READ_FILE } from './helpers.js';

const LONG = 'Rules, the task and the skills of this loop. '.repeat(150);
const NONE: TokenUsage = { input: 2000, output: 10, cacheRead: 0, cacheWrite: 0 };
const request = { model: 'claude-sonnet-4-6', system: LONG, tools: [READ_FILE] };

describe('CacheWatch', () => {
  it('reports an Anthropic call with a long prefix and no cache use, once per model', () => {
    const watch = new CacheWatch();
    const miss = watch.check('anthropic', request, NONE);
    expect(miss?.prefixTokens).toBe(countTokens(LONG) + countTokens(JSON.stringify([READ_FILE])));
    expect(miss?.reason).toContain('anthropic reported no cache reads or writes');
    expect(watch.check('anthropic', request, NONE)).toBeUndefined();
    expect(watch.check('anthropic', { ...request, model: 'claude-haiku-4-5' }, NONE)).toBeDefined();
  });

  it('says nothing when the cache was read or written', () => {
    const watch = new CacheWatch();
    expect(watch.check('anthropic', request, { ...NONE, cacheWrite: 1500 })).toBeUndefined();
    expect(watch.check('anthropic', request, { ...NONE, cacheRead: 1500 })).toBeUndefined();
  });

  it('says nothing for a prefix below 1024 tokens or a provider that does not cache', () => {
    const watch = new CacheWatch();
    expect(watch.check('anthropic', { ...request, system: 'short', tools: [] }, NONE)).toBeUndefined();
    expect(watch.check('scripted', request, NONE)).toBeUndefined();
    expect(watch.check('claude-code', request, NONE)).toBeUndefined();
  });

  it('expects OpenAI to read only when the same prefix comes again', () => {
    const watch = new CacheWatch();
    const openai = { ...request, model: 'gpt-5-mini' };
    expect(watch.check('openai', openai, NONE)).toBeUndefined();
    expect(watch.check('openai', openai, NONE)?.reason).toContain('openai reported no cached tokens');
  });
});
