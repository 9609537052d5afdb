/**
 * One iteration's agent loop: the model and the tools take turns until the model ends its turn,
 * a cap is reached, a person stops the run, or the provider fails.
 */
import type { TokenUsage, ToolCallRecord } from '../events.js';
import type { Message, ModelProvider, ToolResultPart } from '../../models/provider.js';
import { ProviderError } from '../../models/provider.js';
import type { Tool, ToolContext } from '../../tools/types.js';
import { executeTool } from '../../tools/toolbox.js';
import type { BudgetBreach, BudgetTracker } from '../budget/caps.js';
import type { Emitter } from './emitter.js';
import type { RunControl } from './control.js';

export type TurnEnd =
  | { kind: 'done'; text: string }
  | { kind: 'budget'; breach: BudgetBreach }
  | { kind: 'stopped' }
  | { kind: 'failed'; error: ProviderError };

export interface TurnDeps {
  provider: ModelProvider;
  model: string;
  maxTokens: number;
  cacheKey: string;
  tools: readonly Tool[];
  toolContext: Omit<ToolContext, 'signal'>;
  budget: BudgetTracker;
  control: RunControl;
  emitter: Emitter;
  /** Prices one call's usage in USD; null when the model is unpriced. */
  price: (model: string, usage: TokenUsage) => number | null;
}

export async function runAgentTurn(deps: TurnDeps, system: string, user: string): Promise<TurnEnd> {
  const { provider, budget, control, emitter } = deps;
  const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: user }] }];
  const specs = deps.tools.map((t) => t.spec);
  let lastText = '';

  for (;;) {
    const gate = await safePoint(deps);
    if (gate) return gate;
    const breach = budget.checkModelCall();
    if (breach) return { kind: 'budget', breach };

    const span = emitter.childSpan('model');
    emitter.emit(
      {
        type: 'model.request',
        provider: provider.name,
        model: deps.model,
        step: 'work',
        messages: messages.length,
      },
      span,
    );
    const started = Date.now();
    let response;
    try {
      response = await provider.complete({
        model: deps.model,
        system,
        messages,
        tools: specs,
        maxTokens: deps.maxTokens,
        step: 'work',
        cacheKey: deps.cacheKey,
        signal: control.callSignal(),
      });
    } catch (err) {
      const error = toProviderError(err, provider.name);
      if (error.kind === 'aborted') {
        if (control.stopRequested) return { kind: 'stopped' };
        if (control.hasUrgent) {
          injectUrgent(deps, messages);
          continue;
        }
      }
      emitter.emit({ type: 'run.error', kind: `provider.${error.kind}`, message: error.message }, span);
      return { kind: 'failed', error };
    }
    budget.recordUsage(response.usage, deps.price(response.model, response.usage));
    emitter.emit(
      {
        type: 'model.response',
        provider: provider.name,
        model: response.model,
        step: 'work',
        text: response.text,
        toolCalls: response.toolCalls,
        stopReason: response.stopReason,
        usage: response.usage,
        durationMs: Date.now() - started,
      },
      span,
    );
    if (response.text) lastText = response.text;
    messages.push({
      role: 'assistant',
      content: [
        ...(response.text ? [{ type: 'text' as const, text: response.text }] : []),
        ...response.toolCalls.map((c) => ({
          type: 'tool_use' as const,
          id: c.id,
          name: c.name,
          input: c.input,
        })),
      ],
    });
    if (response.toolCalls.length === 0) return { kind: 'done', text: lastText };

    const results: ToolResultPart[] = [];
    for (const call of response.toolCalls) {
      const end = await runToolCall(deps, call, results);
      if (end) {
        // The model's calls must each get an answer before the conversation can continue; when the run
        // ends here the conversation is dropped, so unanswered calls do not matter.
        return end;
      }
    }
    messages.push({ role: 'user', content: results });
    if (control.hasUrgent) injectUrgent(deps, messages);
  }
}

async function runToolCall(
  deps: TurnDeps,
  call: ToolCallRecord,
  results: ToolResultPart[],
): Promise<TurnEnd | undefined> {
  const { budget, control, emitter } = deps;
  const gate = await safePoint(deps);
  if (gate) return gate;
  const breach = budget.checkToolCall();
  if (breach) return { kind: 'budget', breach };
  budget.toolCalls += 1;
  const span = emitter.childSpan('tool');
  emitter.emit({ type: 'tool.call', callId: call.id, name: call.name, input: call.input }, span);
  const started = Date.now();
  const result = await executeTool(deps.tools, call, { ...deps.toolContext, signal: control.callSignal() });
  emitter.emit(
    {
      type: 'tool.result',
      callId: call.id,
      name: call.name,
      ok: result.ok,
      output: result.output,
      durationMs: Date.now() - started,
    },
    span,
  );
  results.push({ type: 'tool_result', toolUseId: call.id, content: result.output, isError: !result.ok });
  if (control.stopRequested) return { kind: 'stopped' };
  return undefined;
}

/** Waits out a pause; reports a stop. Called before every model call and tool call. */
async function safePoint(deps: TurnDeps): Promise<TurnEnd | undefined> {
  const { control, emitter } = deps;
  if (control.stopRequested) return { kind: 'stopped' };
  if (control.isPaused) {
    emitter.emit({ type: 'run.paused' });
    await control.waitWhilePaused();
    if (control.stopRequested) return { kind: 'stopped' };
    emitter.emit({ type: 'run.resumed' });
  }
  return undefined;
}

function injectUrgent(deps: TurnDeps, messages: Message[]): void {
  const texts = deps.control.takeUrgent();
  for (const text of texts) deps.emitter.emit({ type: 'instruction.received', text, mode: 'now' });
  const note = `A person interrupted you with this instruction; follow it:\n${texts.map((t) => `- ${t}`).join('\n')}`;
  const last = messages[messages.length - 1];
  if (last?.role === 'user') last.content.push({ type: 'text', text: note });
  else messages.push({ role: 'user', content: [{ type: 'text', text: note }] });
}

function toProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('server', message, provider, false, { cause: err });
}
