/**
 * One iteration's agent loop: the model and the tools take turns until the model ends its turn,
 * a cap is reached, a person stops the run, or the provider fails. Before each model call, old tool
 * results are trimmed once the conversation passes a share of the context budget (compress.ts).
 */
import type { ToolCallRecord } from '../events.js';
import type { Message, ToolResultPart, ToolSpec } from '../../models/provider.js';
import type { ProviderError } from '../../models/provider.js';
import { invalidInputMessage, invalidToolInput } from '../../models/tool-input.js';
import type { Tool, ToolContext } from '../../tools/types.js';
import { executeTool } from '../../tools/toolbox.js';
import type { BudgetBreach, BudgetTracker } from '../budget/caps.js';
import type { Emitter } from './emitter.js';
import type { RunControl } from './control.js';
import type { ModelCaller } from './model-caller.js';
import { ContextTrimmer, DEFAULT_CONTEXT_BUDGET_TOKENS } from './compress.js';
import type { ToolVerdict } from '../approval/gate.js';

export type TurnEnd =
  /** `finish`: the call of deps.finish's tool that ended the turn, when it did. */
  | { kind: 'done'; text: string; messages: Message[]; finish?: ToolCallRecord }
  | { kind: 'budget'; breach: BudgetBreach; messages: Message[] }
  | { kind: 'stopped'; messages: Message[] }
  | { kind: 'failed'; error: ProviderError; messages: Message[] };

export interface TurnDeps {
  caller: ModelCaller;
  tools: readonly Tool[];
  toolContext: Omit<ToolContext, 'signal'>;
  budget: BudgetTracker;
  control: RunControl;
  emitter: Emitter;
  /** Tokens the conversation should stay well under; old tool results are trimmed past 60% of it. */
  contextBudgetTokens?: number;
  /**
   * A tool whose call ends the turn (a checker's verdict, given as structured output): offered with the
   * others and never run. A model that ends its turn without calling it is told `prompt` and called
   * once more with that tool forced.
   */
  finish?: { tool: ToolSpec; prompt: string };
  /** Asked before a tool call runs (the approval gate): allow it, deny it with a reason, or stop. */
  beforeTool?: (call: ToolCallRecord) => Promise<ToolVerdict>;
}

type Interruption = { kind: 'budget'; breach: BudgetBreach } | { kind: 'stopped' };

export async function runAgentTurn(deps: TurnDeps, system: string, user: string): Promise<TurnEnd> {
  const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: user }] }];
  const finish = deps.finish;
  const specs = [...deps.tools.map((t) => t.spec), ...(finish ? [finish.tool] : [])];
  let forced = false;
  const trimmer = new ContextTrimmer(
    { budgetTokens: deps.contextBudgetTokens ?? DEFAULT_CONTEXT_BUDGET_TOKENS },
    system,
    specs,
  );
  let lastText = '';

  for (;;) {
    const gate = await safePoint(deps);
    if (gate) return { ...gate, messages };
    const trimmed = trimmer.trim(messages);
    if (trimmed) deps.emitter.emit({ type: 'context.trimmed', ...trimmed });
    const result = await deps.caller.call({
      step: 'work',
      system,
      messages,
      tools: specs,
      ...(forced && finish ? { toolChoice: { type: 'tool' as const, name: finish.tool.name } } : {}),
    });
    if (result.kind === 'interrupted') {
      injectUrgent(deps, messages);
      continue;
    }
    if (result.kind !== 'ok') return { ...result, messages };
    const response = result.response;
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
    const finished = finish && response.toolCalls.find((c) => c.name === finish.tool.name);
    // The turn ends at the finishing call; calls beside it are not run.
    if (finished) return { kind: 'done', text: lastText, messages, finish: finished };
    if (response.toolCalls.length === 0) {
      if (!finish || forced) return { kind: 'done', text: lastText, messages };
      forced = true;
      messages.push({ role: 'user', content: [{ type: 'text', text: finish.prompt }] });
      continue;
    }

    const results: ToolResultPart[] = [];
    for (const call of response.toolCalls) {
      // When the run ends here the conversation is dropped, so calls left unanswered do not matter.
      const end = await runToolCall(deps, call, results);
      if (end) return { ...end, messages };
    }
    messages.push({ role: 'user', content: results });
    if (deps.control.hasUrgent) injectUrgent(deps, messages);
  }
}

async function runToolCall(
  deps: TurnDeps,
  call: ToolCallRecord,
  results: ToolResultPart[],
): Promise<Interruption | undefined> {
  const { budget, control, emitter } = deps;
  const gate = await safePoint(deps);
  if (gate) return gate;
  const breach = budget.checkToolCall();
  if (breach) return { kind: 'budget', breach };
  budget.toolCalls += 1;
  const span = emitter.childSpan('tool');
  emitter.emit({ type: 'tool.call', callId: call.id, name: call.name, input: call.input }, span);
  const started = Date.now();
  // Arguments that were not JSON (marked by the provider) are answered, not run: the model calls again.
  const invalid = invalidToolInput(call.input);
  // A call that needs a person waits here; a denial is the tool's error, a stop ends the turn.
  const verdict = invalid ? undefined : await deps.beforeTool?.(call);
  if (verdict?.kind === 'stopped') {
    const output = 'not run: the run was stopped while this call waited for approval';
    emitter.emit(
      { type: 'tool.result', callId: call.id, name: call.name, ok: false, output, durationMs: 0 },
      span,
    );
    return { kind: 'stopped' };
  }
  const result = invalid
    ? { ok: false, output: invalidInputMessage(invalid) }
    : verdict?.kind === 'deny'
      ? { ok: false, output: verdict.reason }
      : await executeTool(deps.tools, call, {
          ...deps.toolContext,
          // The run's deadline bounds a tool too: a command gets no longer than the time left.
          runTimeoutMs: Math.min(deps.toolContext.runTimeoutMs, Math.max(1, budget.deadline.remainingMs())),
          signal: AbortSignal.any([control.stopSignal, budget.deadline.signal]),
        });
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
  if (budget.deadline.expired) return { kind: 'budget', breach: budget.minutesBreach() };
  return undefined;
}

/** Waits out a pause; reports a stop. Called before every model call and tool call. */
async function safePoint(deps: TurnDeps): Promise<Interruption | undefined> {
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
