/**
 * Every model call of a run goes through here: the agent's work, memory compression, a judge's
 * verdict. One place checks the caps before the call, routes the step to its model, records usage
 * and price, and emits the request/response events, so nothing a run spends is off the books.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { ModelStep, TokenUsage } from '../events.js';
import type { Message, ModelProvider, ModelResponse, ToolSpec } from '../../models/provider.js';
import { ProviderError } from '../../models/provider.js';
import type { BudgetBreach, BudgetTracker } from '../budget/caps.js';
import type { Emitter } from './emitter.js';
import type { RunControl } from './control.js';

export interface CallOptions {
  step: ModelStep;
  system: string;
  messages: Message[];
  tools?: ToolSpec[];
  maxTokens?: number;
  /** Overrides the routed model (a grader's own `model:`). */
  model?: string;
}

export type CallResult =
  | { kind: 'ok'; response: ModelResponse }
  | { kind: 'budget'; breach: BudgetBreach }
  | { kind: 'stopped' }
  /** A person's `!` aborted the call; the caller decides how to go on. */
  | { kind: 'interrupted' }
  | { kind: 'failed'; error: ProviderError };

export type Pricer = (model: string, usage: TokenUsage) => number | null;

export interface ModelCallerDeps {
  provider: ModelProvider;
  definition: LoopDefinition;
  budget: BudgetTracker;
  control: RunControl;
  emitter: Emitter;
  price: Pricer;
}

export class ModelCaller {
  constructor(private readonly deps: ModelCallerDeps) {}

  get providerName(): string {
    return this.deps.provider.name;
  }

  /** The model a step uses: the loop's route for that step, else the loop's model. */
  modelFor(step: ModelStep): string {
    const def = this.deps.definition;
    const routed = step === 'work' ? undefined : def.agent.route[step];
    return routed ?? def.model;
  }

  async call(opts: CallOptions): Promise<CallResult> {
    const { provider, budget, control, emitter, definition } = this.deps;
    if (control.stopRequested) return { kind: 'stopped' };
    const breach = budget.checkModelCall();
    if (breach) return { kind: 'budget', breach };

    const model = opts.model ?? this.modelFor(opts.step);
    const span = emitter.childSpan('model');
    emitter.emit(
      {
        type: 'model.request',
        provider: provider.name,
        model,
        step: opts.step,
        messages: opts.messages.length,
      },
      span,
    );
    const started = Date.now();
    let response: ModelResponse;
    try {
      response = await provider.complete({
        model,
        system: opts.system,
        messages: opts.messages,
        tools: opts.tools ?? [],
        maxTokens: opts.maxTokens ?? definition.agent.max_tokens,
        step: opts.step,
        cacheKey: `loops:${definition.name}`,
        signal: control.callSignal(),
      });
    } catch (err) {
      const error = toProviderError(err, provider.name);
      if (error.kind === 'aborted') {
        if (control.stopRequested) return { kind: 'stopped' };
        if (control.hasUrgent) return { kind: 'interrupted' };
      }
      emitter.emit({ type: 'run.error', kind: `provider.${error.kind}`, message: error.message }, span);
      return { kind: 'failed', error };
    }
    budget.recordUsage(response.usage, this.deps.price(response.model, response.usage));
    emitter.emit(
      {
        type: 'model.response',
        provider: provider.name,
        model: response.model,
        step: opts.step,
        text: response.text,
        toolCalls: response.toolCalls,
        stopReason: response.stopReason,
        usage: response.usage,
        durationMs: Date.now() - started,
      },
      span,
    );
    return { kind: 'ok', response };
  }
}

function toProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('server', message, provider, false, { cause: err });
}
