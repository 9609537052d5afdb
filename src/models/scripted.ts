/**
 * An offline, deterministic model that plays a script from the loop's folder: the demo and the tests
 * run whole loops with it, no key and no network.
 *
 * ```yaml
 * turns:
 *   - text: "I'll look at the failing test."
 *     tool_calls:
 *       - { name: read_file, input: { path: test/math.test.js } }
 *   - when: { contains: "FAIL" }            # the last user message contains this
 *     text: "The grader says it still fails; fixing."
 *   - when: { matches: "expected (\\d+)" }  # ...or matches this regular expression
 *     text: "Looking at the expected value."
 *   - when: { system_contains: "even when unsure" }  # ...or the system prompt (the skills) says this
 *     text: "The skill says to remove it; removing."
 *   - when: { step: review }                # ...or the request is for this step
 *     repeat: true                          # never used up
 *     tool_calls:                           # a judge's verdict is a submit_verdict call
 *       - name: submit_verdict
 *         input: { result: satisfied, score: 1, explanation: "...", criteria: [] }
 * ```
 *
 * A request that forces a tool (a judge asking for its verdict) is answered like a real API would:
 * the turn must call that tool, or the call fails with a config error naming the turn. A verdict
 * written as text in a turn is text, never a verdict.
 *
 * The provider is created once per run and keeps state. Each call takes the first unused turn, in file
 * order, whose `when` holds (every condition given must hold; a turn without `step` serves only the
 * agent's `work` step, so judges and summaries never consume the agent's turns) and marks it used
 * unless it has `repeat: true`. With no such turn it answers "(script finished)" and ends its turn.
 * `when` is matched against the text of the last user message: the tool results, or the iteration's
 * opening context with the grader's feedback.
 *
 * There is no `iteration` condition: the engine starts each iteration with a fresh conversation, so
 * the request alone cannot tell iterations apart, and the opening context (grader feedback) that
 * `contains`/`matches` see is what distinguishes them in practice.
 *
 * Token counts are real counts (o200k_base) of the request and the reply, so budgets and the spend pane
 * behave as with a real model; there is never any cache use.
 */
import type { ToolCallRecord } from '../core/events.js';
import type { Message, ModelProvider, ModelRequest, ModelResponse } from './provider.js';
import { ProviderError } from './provider.js';
import type { Script, ScriptTurn } from './script.js';
import { countRequestTokens, countResponseTokens } from './tokens.js';

export { loadScript, parseScript, type Script } from './script.js';

export const SCRIPT_FINISHED = '(script finished)';

export interface ScriptedProviderOptions {
  /** The model id reported in responses. */
  model?: string;
}

interface CompiledTurn {
  turn: ScriptTurn;
  pattern?: RegExp;
}

export class ScriptedProvider implements ModelProvider {
  readonly name = 'scripted';
  private readonly turns: CompiledTurn[];
  private readonly used = new Set<number>();
  private readonly model: string;
  private calls = 0;

  constructor(script: Script, opts: ScriptedProviderOptions = {}) {
    this.model = opts.model ?? 'scripted';
    this.turns = script.turns.map((turn) => ({
      turn,
      pattern: turn.when?.matches === undefined ? undefined : new RegExp(turn.when.matches),
    }));
  }

  complete(request: ModelRequest): Promise<ModelResponse> {
    if (request.signal?.aborted) {
      return Promise.reject(new ProviderError('aborted', 'the scripted request was aborted', this.name));
    }
    const subject = lastUserText(request.messages);
    const index = this.turns.findIndex(
      (compiled, i) => !this.used.has(i) && holds(compiled, subject, request),
    );
    const turn = this.turns[index]?.turn;
    const forced = forcedProblem(request, turn, index);
    if (forced) return Promise.reject(new ProviderError('config', forced, this.name));
    if (turn && !turn.repeat) this.used.add(index);

    const text = turn ? (turn.text ?? '') : SCRIPT_FINISHED;
    const toolCalls: ToolCallRecord[] = (turn?.tool_calls ?? []).map((call) => ({
      id: `call_${++this.calls}`,
      name: call.name,
      input: call.input,
    }));
    if (text !== '') request.onText?.(text);
    return Promise.resolve({
      model: this.model,
      text,
      toolCalls,
      stopReason: toolCalls.length > 0 ? 'tool_use' : 'end_turn',
      usage: {
        input: countRequestTokens(request),
        output: countResponseTokens(text, toolCalls),
        cacheRead: 0,
        cacheWrite: 0,
      },
    });
  }
}

/** Why the turn cannot answer a request that forces a tool call; undefined when it can. */
function forcedProblem(
  request: ModelRequest,
  turn: ScriptTurn | undefined,
  index: number,
): string | undefined {
  const choice = request.toolChoice;
  if (choice?.type !== 'tool') return undefined;
  if (turn?.tool_calls?.some((call) => call.name === choice.name)) return undefined;
  const wanted = `\`tool_calls: [{ name: ${choice.name}, input: {...} }]\``;
  return turn
    ? `the script's turns[${index}] answers a ${request.step} request that must call ${choice.name}, ` +
        `but makes no such call: give it ${wanted}`
    : `no turn of the script answers this ${request.step} request, which must call ${choice.name}: ` +
        `add a turn with \`when: { step: ${request.step} }\` and ${wanted}`;
}

function holds(compiled: CompiledTurn, subject: string, request: ModelRequest): boolean {
  const when = compiled.turn.when;
  // A turn that names no step plays the agent's work; a judge or a summary call must be scripted for.
  if ((when?.step ?? 'work') !== request.step) return false;
  if (!when) return true;
  if (when.contains !== undefined && !subject.includes(when.contains)) return false;
  if (compiled.pattern && !compiled.pattern.test(subject)) return false;
  if (when.system_contains !== undefined && !request.system.includes(when.system_contains)) return false;
  return true;
}

function lastUserText(messages: Message[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role !== 'user') continue;
    return message.content.map((part) => (part.type === 'text' ? part.text : part.content)).join('\n');
  }
  return '';
}
