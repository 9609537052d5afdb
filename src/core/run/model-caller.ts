/**
 * Every model call of a run goes through here: the agent's work, memory compression, a judge's
 * verdict. One place checks the caps before the call, routes the step to its model, streams the text
 * into the trace, retries a stream that broke off, records usage and price, notices caching that did
 * not happen, and emits the request/response events, so nothing a run spends is off the books.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { ModelStep, TokenUsage } from '../events.js';
import type {
  Message,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ProviderEvent,
  ToolSpec,
} from '../../models/provider.js';
import { ProviderError } from '../../models/provider.js';
import { BrokenStreamError } from '../../models/errors.js';
import { CacheWatch } from '../../models/cache-watch.js';
import { TextCoalescer } from '../../models/text-coalescer.js';
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
  /** The run's worktree, where CLI agent providers (claude-code, codex, command) run. */
  worktree?: string;
}

type Span = { span: string; parentSpan: string };

export class ModelCaller {
  private readonly cacheWatch = new CacheWatch();

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
    // Our own abort, for a CLI agent that passes the tool-call cap inside its turn.
    const capAbort = new AbortController();
    const cli = new CliEvents(this.deps, span, () => capAbort.abort());
    const request: ModelRequest = {
      model,
      system: opts.system,
      messages: opts.messages,
      tools: opts.tools ?? [],
      maxTokens: opts.maxTokens ?? definition.agent.max_tokens,
      step: opts.step,
      cacheKey: `loops:${definition.name}`,
      signal: AbortSignal.any([control.callSignal(), capAbort.signal]),
      onEvent: (event) => cli.handle(event),
      ...(this.deps.worktree === undefined ? {} : { cwd: this.deps.worktree }),
    };

    let response: ModelResponse | undefined;
    for (let attempt = 1; response === undefined; attempt++) {
      const deltas = new TextCoalescer((text) => emitter.emit({ type: 'model.delta', text }, span));
      cli.deltas = deltas;
      try {
        response = await provider.complete({ ...request, onText: (delta) => deltas.push(delta) });
      } catch (err) {
        // Whatever text arrived goes in the trace before the error that ended it.
        deltas.flush();
        const error = toProviderError(err, provider.name);
        if (error.kind === 'aborted') {
          if (control.stopRequested) return { kind: 'stopped' };
          if (control.hasUrgent) return { kind: 'interrupted' };
          if (cli.breach) return { kind: 'budget', breach: cli.breach };
        }
        if (error instanceof BrokenStreamError && attempt === 1) {
          emitter.emit(
            {
              type: 'run.error',
              kind: 'provider.retry',
              message: `${error.message}; the SDK does not retry a response that broke off, so loops retries it once from scratch`,
            },
            span,
          );
          continue;
        }
        emitter.emit({ type: 'run.error', kind: `provider.${error.kind}`, message: error.message }, span);
        return { kind: 'failed', error };
      }
      deltas.flush();
    }

    // A provider's own figure wins; a local estimate is never priced (unpriced, not $0).
    const usd = response.usd ?? (response.estimated ? null : this.deps.price(response.model, response.usage));
    budget.recordUsage(response.usage, usd);
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
        usd,
        durationMs: Date.now() - started,
      },
      span,
    );
    const miss = this.cacheWatch.check(provider.name, request, response.usage);
    if (miss) emitter.emit({ type: 'cache.missed', model, ...miss }, span);
    // A CLI agent that finished anyway after passing the tool-call cap: its work counts, the run ends.
    if (cli.breach) return { kind: 'budget', breach: cli.breach };
    return { kind: 'ok', response };
  }
}

/**
 * A CLI agent's own tool calls and text, as trace events under the model call's span. Its tool calls
 * count against the run's tool-call cap; past the cap, the agent is stopped.
 */
class CliEvents {
  deltas: TextCoalescer | undefined;
  breach: BudgetBreach | undefined;
  private readonly calls = new Map<string, { span: Span; started: number }>();
  private count = 0;

  constructor(
    private readonly deps: ModelCallerDeps,
    private readonly modelSpan: Span,
    private readonly stop: () => void,
  ) {}

  handle(event: ProviderEvent): void {
    const { emitter, budget } = this.deps;
    this.deltas?.flush();
    if (event.kind === 'text') {
      if (event.text !== '') emitter.emit({ type: 'model.delta', text: event.text }, this.modelSpan);
      return;
    }
    if (event.kind === 'tool.call') {
      if (this.breach) return;
      this.breach = budget.checkToolCall();
      if (this.breach) {
        this.stop();
        return;
      }
      budget.toolCalls += 1;
      const span = this.spanFor(event.callId);
      emitter.emit({ type: 'tool.call', callId: event.callId, name: event.name, input: event.input }, span);
      return;
    }
    const call = this.calls.get(event.callId);
    emitter.emit(
      {
        type: 'tool.result',
        callId: event.callId,
        name: event.name,
        ok: event.ok,
        output: event.output,
        durationMs: call ? Date.now() - call.started : 0,
      },
      call?.span ?? this.spanFor(event.callId),
    );
  }

  private spanFor(callId: string): Span {
    this.count += 1;
    const span = { span: `${this.modelSpan.span}/tool${this.count}`, parentSpan: this.modelSpan.span };
    this.calls.set(callId, { span, started: Date.now() });
    return span;
  }
}

function toProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError('server', message, provider, false, { cause: err });
}
