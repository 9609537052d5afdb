/**
 * Anthropic's usage block as TokenUsage. Shared by the API provider and Claude Code's stream-json, which
 * carries the same block; kept apart from anthropic.ts so the CLI provider does not load the SDK.
 */
import type { TokenUsage } from '../core/events.js';

/** The fields we read; both the SDK's `Usage` and Claude Code's JSON fit this shape. */
export interface AnthropicUsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: {
    ephemeral_5m_input_tokens?: number | null;
    ephemeral_1h_input_tokens?: number | null;
  } | null;
}

export function fromAnthropicUsage(usage: AnthropicUsageLike): TokenUsage {
  const out: TokenUsage = {
    // Anthropic's input_tokens already leaves out the cached part.
    input: count(usage.input_tokens),
    output: count(usage.output_tokens),
    cacheRead: count(usage.cache_read_input_tokens),
    cacheWrite: count(usage.cache_creation_input_tokens),
  };
  // 1-hour writes cost 2× input against 1.25× for 5-minute ones, so the ledger needs them apart.
  const oneHour = count(usage.cache_creation?.ephemeral_1h_input_tokens);
  if (oneHour > 0) out.cacheWrite1h = oneHour;
  return out;
}

/** Claude Code's JSON is not typed by an SDK: anything but a count is no count. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
