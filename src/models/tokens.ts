/**
 * Token counting for providers that report no usage (the scripted model, OpenAI-compatible servers
 * that ignore include_usage). o200k_base is exact for current OpenAI models and a close estimate for
 * others, which is what budgets need.
 */
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';
import type { ToolCallRecord } from '../core/events.js';
import type { ModelRequest } from './provider.js';

// Model output and file contents may contain "<|endoftext|>" and the like; count them as plain text
// rather than throwing.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Counts of recent long texts: a turn's system prompt and messages are counted again on each of its
 * calls (by the context trimmer, and by the scripted model for its usage), and encoding is the costly
 * part. Keyed by the text itself, so a count is never stale; the oldest is dropped past the limit.
 */
const recent = new Map<string, number>();
const RECENT_MAX = 64;
const WORTH_KEEPING = 256;

export function countTokens(text: string): number {
  if (text === '') return 0;
  if (text.length < WORTH_KEEPING) return countO200k(text, PLAIN_TEXT);
  const known = recent.get(text);
  if (known !== undefined) return known;
  const n = countO200k(text, PLAIN_TEXT);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(text, n);
  return n;
}

/** Everything the model reads: system, message texts, tool inputs and results, tool specs. */
export function countRequestTokens(request: Pick<ModelRequest, 'system' | 'messages' | 'tools'>): number {
  let total = countTokens(request.system);
  for (const message of request.messages) {
    for (const part of message.content) {
      if (part.type === 'text') total += countTokens(part.text);
      else if (part.type === 'tool_result') total += countTokens(part.content);
      else total += countTokens(`${part.name} ${JSON.stringify(part.input)}`);
    }
  }
  if (request.tools.length > 0) total += countTokens(JSON.stringify(request.tools));
  return total;
}

/** Everything the model wrote: its text and its tool calls. */
export function countResponseTokens(text: string, toolCalls: ToolCallRecord[]): number {
  return countTokens(text) + (toolCalls.length > 0 ? countTokens(JSON.stringify(toolCalls)) : 0);
}
