/**
 * What an Anthropic stream had delivered when it failed, kept apart from the SDK's own snapshot (whose
 * tool inputs are parsed lazily and throw when read).
 *
 * Two things come of it. The usage seen so far: message_start carries the input tokens, which are
 * billed even when the stream breaks off or is aborted. And the message so far when the SDK gave up on
 * a tool call whose input is not JSON: its accumulator parses the input at content_block_stop and the
 * SyntaxError ends the stream, losing a call that was billed. The text and tool calls up to that
 * block come back as a response instead, the bad call marked (tool-input.ts) so the agent loop answers
 * it with a tool error. What the SDK stopped reading (the rest of the message, its final output count)
 * is lost: the output is counted locally when that is more than the stream had reported.
 *
 * And a third: the tool inputs exactly as they arrived. The SDK repairs a truncated input (it closes
 * the open strings and braces of `{"path": "a.js", "content": "hal`) and hands the repaired object on
 * as if the model had sent it, so a call cut off by max_tokens would run on a guess. `refuseCutOff`
 * marks every call whose arguments did not arrive as complete JSON, and the last call of a response
 * that stopped at max_tokens, so the agent loop answers them with a tool error instead.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ToolCallRecord } from '../core/events.js';
import { fromAnthropicUsage } from './anthropic-usage.js';
import type { ModelResponse, PartialSpend } from './provider.js';
import { countResponseTokens } from './tokens.js';
import { invalidToolInput, parseToolArguments, truncatedToolInput } from './tool-input.js';

type Block = { kind: 'text'; text: string } | { kind: 'tool'; id: string; name: string; json: string };

export class AnthropicStreamWatch {
  private seen: PartialSpend | undefined;
  private readonly blocks = new Map<number, Block>();
  private lastIndex: number | undefined;

  /** The stream's `streamEvent` listener. */
  readonly see = (event: Anthropic.MessageStreamEvent, snapshot: Anthropic.Message): void => {
    switch (event.type) {
      case 'message_start':
      case 'message_delta':
        this.seen = { usage: fromAnthropicUsage(snapshot.usage), model: snapshot.model };
        break;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'text') this.blocks.set(event.index, { kind: 'text', text: block.text });
        else if (block.type === 'tool_use')
          this.blocks.set(event.index, { kind: 'tool', id: block.id, name: block.name, json: '' });
        this.lastIndex = event.index;
        break;
      }
      case 'content_block_delta': {
        const block = this.blocks.get(event.index);
        if (block?.kind === 'text' && event.delta.type === 'text_delta') block.text += event.delta.text;
        else if (block?.kind === 'tool' && event.delta.type === 'input_json_delta')
          block.json += event.delta.partial_json;
        break;
      }
      default:
        break;
    }
  };

  /**
   * `response` with every tool call the stream did not deliver whole marked instead of holding the
   * SDK's repaired input: arguments that are not complete JSON as they arrived, and the last call when
   * the response stopped at max_tokens (its closing brace may be all that was cut).
   */
  refuseCutOff(response: ModelResponse): ModelResponse {
    const raw = new Map<string, string>();
    for (const block of this.blocks.values()) if (block.kind === 'tool') raw.set(block.id, block.json);
    const lastId = response.toolCalls.at(-1)?.id;
    const toolCalls = response.toolCalls.map((call) => {
      const json = raw.get(call.id);
      // A call the watch never saw start cannot be vouched for.
      if (json === undefined) return { ...call, input: truncatedToolInput('', 'its input never arrived') };
      const parsed = parseToolArguments(json);
      const invalid = invalidToolInput(parsed);
      if (response.stopReason === 'max_tokens' && call.id === lastId) {
        return {
          ...call,
          input: truncatedToolInput(json, 'the response reached max_tokens during this call'),
        };
      }
      if (invalid) {
        return { ...call, input: truncatedToolInput(json, `incomplete JSON: ${invalid.__parse_error__}`) };
      }
      return call;
    });
    return { ...response, toolCalls };
  }

  /** The usage the stream reported before it ended; undefined before message_start. */
  get spent(): PartialSpend | undefined {
    return this.seen;
  }

  /**
   * The message so far, when `error` is the SDK failing to parse the input of the tool call it was
   * closing; undefined for any other failure (a garbled frame, a broken connection).
   */
  salvage(error: unknown): ModelResponse | undefined {
    if (!(error instanceof Error) || !(error.cause instanceof SyntaxError) || !this.seen) return undefined;
    const last = this.lastIndex === undefined ? undefined : this.blocks.get(this.lastIndex);
    if (last?.kind !== 'tool') return undefined;
    const input = parseToolArguments(last.json);
    // The SDK hands input it cannot repair to JSON.parse unchanged: the same message says it is this one.
    if (invalidToolInput(input)?.__parse_error__ !== error.cause.message) return undefined;

    let text = '';
    const toolCalls: ToolCallRecord[] = [];
    for (const index of [...this.blocks.keys()].sort((a, b) => a - b)) {
      const block = this.blocks.get(index);
      if (block?.kind === 'text') text += block.text;
      else if (block)
        toolCalls.push({ id: block.id, name: block.name, input: parseToolArguments(block.json) });
    }
    const usage = { ...this.seen.usage };
    usage.output = Math.max(usage.output, countResponseTokens(text, toolCalls));
    return {
      model: this.seen.model ?? 'unknown',
      text,
      toolCalls,
      stopReason: 'tool_use',
      usage,
    };
  }
}
