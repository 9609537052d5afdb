/**
 * Anthropic's prompt caching rules, for the fake server: what a request would read from and write to
 * the cache, reported the way the API reports it (input_tokens without the cached part, plus
 * cache_read_input_tokens and cache_creation_input_tokens split by TTL).
 *
 * - The prefix runs tools → system → messages, block by block; a cache entry is the exact prefix up
 *   to a block that carried `cache_control` (the marker itself is not part of the key), per model.
 * - A breakpoint reads the longest entry found at it or at up to `lookback` (20) block boundaries
 *   before it; every breakpoint after that point whose prefix reaches the minimum length is written.
 * - A prefix shorter than `minTokens` (1024 for Sonnet-class models) is never cached, silently.
 * - Entries live 5 minutes (or 1 hour with `ttl: "1h"`) from their last write or read.
 *
 * Tokens are counted with o200k_base: not Anthropic's tokenizer, but the same for every strategy.
 */
import { createHash, type Hash } from 'node:crypto';
import { countTokens } from '../../src/models/tokens.js';

type JsonObject = Record<string, unknown>;

export interface PromptCacheOptions {
  minTokens?: number;
  /** Milliseconds; injectable so expiry can be tested and simulated. */
  now?: () => number;
  lookback?: number;
}

export interface CacheUsage {
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

interface Block {
  /** What the block contributes to the prefix key. */
  key: string;
  tokens: number;
  /** TTL in ms when the block carries cache_control. */
  breakpoint?: number;
}

const FIVE_MINUTES = 5 * 60_000;
const ONE_HOUR = 60 * 60_000;

export class PromptCache {
  private readonly entries = new Map<string, { expires: number; ttl: number }>();
  private readonly counted = new Map<string, number>();
  private readonly minTokens: number;
  private readonly now: () => number;
  private readonly lookback: number;

  constructor(opts: PromptCacheOptions = {}) {
    this.minTokens = opts.minTokens ?? 1024;
    this.now = opts.now ?? Date.now;
    this.lookback = opts.lookback ?? 20;
  }

  /** Applies one request to the cache and says what it read, wrote and left uncached. */
  usage(body: JsonObject): CacheUsage {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);

    const blocks = this.blocks(body);
    const keys: string[] = [];
    const cumulative: number[] = [];
    const hash: Hash = createHash('sha256').update(String(body.model));
    let total = 0;
    for (const block of blocks) {
      hash.update('\u0000').update(block.key);
      keys.push(hash.copy().digest('hex'));
      total += block.tokens;
      cumulative.push(total);
    }

    const breakpoints = blocks.flatMap((block, i) => (block.breakpoint === undefined ? [] : [i]));
    let read = -1;
    for (const b of breakpoints) {
      for (let j = b; j >= Math.max(0, b - this.lookback); j--) {
        if (this.entries.has(keys[j]!)) {
          read = Math.max(read, j);
          break;
        }
      }
    }
    const cacheRead = read >= 0 ? cumulative[read]! : 0;
    if (read >= 0) {
      const entry = this.entries.get(keys[read]!)!;
      entry.expires = now + entry.ttl;
    }

    let written = cacheRead;
    let write5m = 0;
    let write1h = 0;
    for (const b of breakpoints) {
      if (b <= read || cumulative[b]! < this.minTokens) continue;
      const ttl = blocks[b]!.breakpoint!;
      this.entries.set(keys[b]!, { expires: now + ttl, ttl });
      const segment = cumulative[b]! - written;
      if (ttl === ONE_HOUR) write1h += segment;
      else write5m += segment;
      written = cumulative[b]!;
    }
    const cacheWrite = write5m + write1h;
    return {
      input_tokens: total - cacheRead - cacheWrite,
      cache_read_input_tokens: cacheRead,
      cache_creation_input_tokens: cacheWrite,
      cache_creation: { ephemeral_5m_input_tokens: write5m, ephemeral_1h_input_tokens: write1h },
    };
  }

  private blocks(body: JsonObject): Block[] {
    const blocks: Block[] = [];
    for (const tool of asArray(body.tools))
      blocks.push(this.block('tool', tool, JSON.stringify(strip(tool))));
    if (typeof body.system === 'string') {
      blocks.push(this.block('system', { type: 'text', text: body.system }, body.system));
    }
    for (const part of asArray(body.system)) blocks.push(this.block('system', part, textOf(part)));
    for (const message of asArray(body.messages)) {
      const { role, content } = (message ?? {}) as JsonObject;
      if (typeof content === 'string') {
        blocks.push(this.block(String(role), { type: 'text', text: content }, content));
      }
      for (const part of asArray(content)) blocks.push(this.block(String(role), part, textOf(part)));
    }
    return blocks;
  }

  private block(where: string, part: unknown, text: string): Block {
    const control = (part as JsonObject | null)?.cache_control as JsonObject | undefined;
    const key = `${where}:${JSON.stringify(strip(part))}`;
    let tokens = this.counted.get(text);
    if (tokens === undefined) {
      tokens = countTokens(text);
      this.counted.set(text, tokens);
    }
    if (!control) return { key, tokens };
    return { key, tokens, breakpoint: control.ttl === '1h' ? ONE_HOUR : FIVE_MINUTES };
  }
}

/** How many blocks of a request carry cache_control (the API allows 4). */
export function countBreakpoints(body: JsonObject): number {
  const parts = [...asArray(body.tools), ...asArray(body.system)];
  for (const message of asArray(body.messages))
    parts.push(...asArray((message as JsonObject | null)?.content));
  return parts.filter((part) => (part as JsonObject | null)?.cache_control != null).length;
}

/** The text the model reads in a block (what its tokens are counted from). */
function textOf(part: unknown): string {
  const p = (part ?? {}) as JsonObject;
  if (typeof p.text === 'string') return p.text;
  if (p.type === 'tool_use') return `${String(p.name)} ${JSON.stringify(p.input ?? {})}`;
  if (p.type === 'tool_result') return typeof p.content === 'string' ? p.content : JSON.stringify(p.content);
  return JSON.stringify(strip(part));
}

function strip(part: unknown): unknown {
  if (typeof part !== 'object' || part === null) return part;
  const { cache_control: _marker, ...rest } = part as JsonObject;
  return rest;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
