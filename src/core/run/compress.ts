/**
 * Context compression, the two halves of "the transcript is not carried forever":
 *
 * - Between iterations, `foldIteration` turns the iteration's transcript into a handoff (goal;
 *   progress and decisions; constraints and preferences; next steps; key data and references) with
 *   one summary-step call, the shape Codex uses for its compaction prompt. The handoff goes into
 *   MEMORY.md and the next iteration starts from task + skills + memory + feedback.
 * - Inside a long iteration, `ContextTrimmer` replaces the content of old tool results with a short
 *   marker once the conversation passes a share of the context budget, keeping the latest ones.
 */
import type { BudgetBreach } from '../budget/caps.js';
import type { Message, ToolResultPart, ToolSpec } from '../../models/provider.js';
import { SCRIPT_FINISHED } from '../../models/scripted.js';
import { countTokens } from '../../models/tokens.js';
import type { ModelCaller } from './model-caller.js';

export const HANDOFF_PROMPT = `Your turn for this iteration is over; do not call any tools now.
Write a handoff for the next iteration. It starts fresh: it sees the task, this handoff, its memory and the graders' feedback, but not this conversation.
Be brief and concrete (at most 300 words), in markdown under these headings:
### Goal
### Progress and decisions
### Constraints and preferences
### Next steps
### Key data and references
Under the last heading keep what would be costly to find again: file paths, commands, error messages, values.`;

/** Room for a handoff of about 300 words, well under MEMORY.md's default cap. */
export const HANDOFF_MAX_TOKENS = 1024;

export type FoldResult =
  | { kind: 'handoff'; text: string }
  /**
   * No usable summary (the model said nothing, a script has no summary turn, the call failed); the
   * memory keeps its deterministic parts (progress, feedback). `malformed` when the reply itself was
   * not a handoff (it called a tool, or said nothing): an error to record, as any malformed reply.
   */
  | { kind: 'none'; reason: string; malformed?: true }
  | { kind: 'budget'; breach: BudgetBreach }
  | { kind: 'stopped' };

export interface FoldInput {
  caller: ModelCaller;
  /** The iteration's system prompt and tool specs: the same prefix as the work calls, so it can be read from cache. */
  system: string;
  tools: ToolSpec[];
  /** The iteration's conversation, as the agent turn left it. */
  transcript: readonly Message[];
}

/**
 * CLI agents run a whole agent session per call and keep their own context (Claude Code and Codex
 * compact it themselves): a summary call would be another session in the worktree, so none is made.
 */
const SELF_COMPACTING = new Set(['claude-code', 'codex']);

/** One summary-step call that folds the iteration's transcript into a handoff. */
export async function foldIteration(input: FoldInput): Promise<FoldResult> {
  if (SELF_COMPACTING.has(input.caller.providerName)) {
    return { kind: 'none', reason: `${input.caller.providerName} keeps its own context` };
  }
  const messages = withHandoffRequest(input.transcript);
  const result = await input.caller.call({
    step: 'summary',
    system: input.system,
    messages,
    tools: input.tools,
    maxTokens: HANDOFF_MAX_TOKENS,
  });
  switch (result.kind) {
    case 'budget':
    case 'stopped':
      return result;
    case 'interrupted':
      return { kind: 'none', reason: 'the summary call was interrupted by a person' };
    case 'failed':
      return { kind: 'none', reason: `the summary call failed: ${result.error.message}` };
    case 'ok': {
      const { toolCalls } = result.response;
      const text = result.response.text.trim();
      // Text beside a tool call is the model starting more work ("let me check..."), not a handoff.
      if (toolCalls.length > 0) {
        const names = [...new Set(toolCalls.map((call) => call.name))].join(', ');
        return {
          kind: 'none',
          reason: `the summary reply called ${names} instead of writing a handoff`,
          malformed: true,
        };
      }
      // The scripted model's answer when its script has no summary turn: not a handoff, not an error.
      if (text === SCRIPT_FINISHED) return { kind: 'none', reason: 'the script has no summary turn' };
      if (text === '') return { kind: 'none', reason: 'the summary reply was empty', malformed: true };
      return { kind: 'handoff', text };
    }
  }
}

/**
 * The transcript with the handoff request as the last user message. Empty messages are dropped and
 * neighbours of the same role merged, as both APIs want roles to alternate with non-empty content.
 */
export function withHandoffRequest(transcript: readonly Message[]): Message[] {
  const out: Message[] = [];
  const push = (message: Message): void => {
    if (message.content.length === 0) return;
    const last = out[out.length - 1];
    if (last?.role === 'user' && message.role === 'user') last.content.push(...message.content);
    else if (last?.role === 'assistant' && message.role === 'assistant')
      last.content.push(...message.content);
    else
      out.push(
        message.role === 'user'
          ? { role: 'user', content: [...message.content] }
          : { role: 'assistant', content: [...message.content] },
      );
  };
  for (const message of transcript) push(message);
  push({ role: 'user', content: [{ type: 'text', text: HANDOFF_PROMPT }] });
  return out;
}

export interface TrimOptions {
  /** The context budget in tokens (o200k_base counts): what the conversation should stay well under. */
  budgetTokens: number;
  /** Trimming starts when the conversation passes this share of the budget... */
  triggerRatio?: number;
  /** ...and trims down to this share, so it happens in a few large steps (each one costs a cache miss). */
  targetRatio?: number;
  /** The latest tool results are never trimmed: the model is working with them. */
  keepLatest?: number;
}

export interface TrimReport {
  trimmed: number;
  tokensBefore: number;
  tokensAfter: number;
}

export const DEFAULT_CONTEXT_BUDGET_TOKENS = 100_000;

const TRIMMED = /^\[trimmed: \d+ chars of .+ output\]$/;

export function trimmedMarker(chars: number, tool: string): string {
  return `[trimmed: ${chars} chars of ${tool} output]`;
}

/**
 * Keeps one iteration's conversation under a share of the context budget by trimming old tool
 * results. Token counts are cached per message part, so each part is counted once however long the
 * iteration runs.
 */
export class ContextTrimmer {
  private readonly counts = new WeakMap<object, number>();
  private readonly fixed: number;
  private readonly trigger: number;
  private readonly target: number;
  private readonly keepLatest: number;

  /** `system` and `tools` are sent with every call, so they count against the budget too. */
  constructor(options: TrimOptions, system: string, tools: readonly ToolSpec[]) {
    this.fixed = countTokens(system) + (tools.length > 0 ? countTokens(JSON.stringify(tools)) : 0);
    this.trigger = options.budgetTokens * (options.triggerRatio ?? 0.6);
    this.target = options.budgetTokens * (options.targetRatio ?? 0.4);
    this.keepLatest = options.keepLatest ?? 2;
  }

  /** The conversation's size in tokens, system and tools included. */
  size(messages: readonly Message[]): number {
    let total = this.fixed;
    for (const message of messages) for (const part of message.content) total += this.count(part);
    return total;
  }

  /** Trims `messages` in place when they pass the trigger; undefined when nothing was trimmed. */
  trim(messages: Message[]): TrimReport | undefined {
    const before = this.size(messages);
    if (before <= this.trigger) return undefined;
    const names = toolNames(messages);
    const results: Array<{
      message: Extract<Message, { role: 'user' }>;
      index: number;
      part: ToolResultPart;
    }> = [];
    for (const message of messages) {
      if (message.role !== 'user') continue;
      message.content.forEach((part, index) => {
        if (part.type === 'tool_result') results.push({ message, index, part });
      });
    }
    let size = before;
    let trimmed = 0;
    for (const { message, index, part } of results.slice(0, Math.max(0, results.length - this.keepLatest))) {
      if (size <= this.target) break;
      if (TRIMMED.test(part.content)) continue;
      const marker = trimmedMarker(part.content.length, names.get(part.toolUseId) ?? 'tool');
      const replacement: ToolResultPart = { ...part, content: marker };
      const saved = this.count(part) - this.count(replacement);
      if (saved <= 0) continue;
      message.content[index] = replacement;
      size -= saved;
      trimmed += 1;
    }
    return trimmed === 0 ? undefined : { trimmed, tokensBefore: before, tokensAfter: size };
  }

  private count(part: Message['content'][number]): number {
    const cached = this.counts.get(part);
    if (cached !== undefined) return cached;
    const n =
      part.type === 'text'
        ? countTokens(part.text)
        : part.type === 'tool_result'
          ? countTokens(part.content)
          : countTokens(`${part.name} ${JSON.stringify(part.input)}`);
    this.counts.set(part, n);
    return n;
  }
}

function toolNames(messages: readonly Message[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const part of message.content) if (part.type === 'tool_use') names.set(part.id, part.name);
  }
  return names;
}
