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

export function countTokens(text: string): number {
  return text === '' ? 0 : countO200k(text, PLAIN_TEXT);
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
