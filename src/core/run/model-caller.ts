/**
 * Every model call of a run goes through here: the agent's work, memory compression, a judge's
 * verdict. One place checks the caps before the call, routes the step to its model, streams the text
 * into the trace, retries a stream that broke off, records usage and price, notices caching that did
 * not happen, and emits the request/response events, so nothing a run spends is off the books.
 *
 * A CLI agent's call is a whole session: its usage, reported as it grows, is held to the spend caps
 * while it runs, and the agent is stopped at a breach. Whatever way a call ends, what it used (as far
 * as the provider said) is recorded once, on a model.response: a call that did not complete gets one
 * with the text so far and stopReason `other`, before the error or the stop that ended it.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { ModelStep, TokenUsage } from '../events.js';
import type {
  Message,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ProviderEvent,
  ToolChoice,
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
  /** Forces a tool call (a judge's verdict); absent, the model chooses. */
  toolChoice?: ToolChoice;
  maxTokens?: number;
  /** Overrides the routed model (a grader's own `model:`). */
  model?: string;
}

export type CallResult =
  | { kind: 'ok'; response: ModelResponse }
  | { kind: 'budget'; breach: BudgetBreach }
  | { kind: 'stopped' }
  /** A person's `!` aborted the agent's work call (no other step's); the caller decides how to go on. */
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
    // Our own abort, for a CLI agent that passes a cap inside its turn.
    const capAbort = new AbortController();
    // `!` is for the agent: it interrupts the agent's own work, never a judge's verdict or a memory
    // handoff, which only a stop cuts short.
    const runSignal = opts.step === 'work' ? control.callSignal() : control.stopSignal;
    const events = new CallEvents(this.deps, span, model, () => capAbort.abort());
    const request: ModelRequest = {
      model,
      system: opts.system,
      messages: opts.messages,
      tools: opts.tools ?? [],
      ...(opts.toolChoice ? { toolChoice: opts.toolChoice } : {}),
      maxTokens: opts.maxTokens ?? definition.agent.max_tokens,
      step: opts.step,
      cacheKey: `loops:${definition.name}`,
      signal: AbortSignal.any([runSignal, capAbort.signal]),
      onEvent: (event) => events.handle(event),
      ...(this.deps.worktree === undefined ? {} : { cwd: this.deps.worktree }),
    };
    const record = (
      response: Pick<ModelResponse, 'model' | 'text' | 'toolCalls' | 'stopReason' | 'usage'>,
      usd: number | null,
    ): void => {
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
    };

    let response: ModelResponse | undefined;
    for (let attempt = 1; response === undefined; attempt++) {
      const deltas = new TextCoalescer((text) => emitter.emit({ type: 'model.delta', text }, span));
      events.begin(deltas);
      try {
        response = await provider.complete({ ...request, onText: (delta) => events.text(delta) });
      } catch (err) {
        // Whatever text arrived goes in the trace before the error that ended it.
        deltas.flush();
        const error = toProviderError(err, provider.name);
        // What the attempt used before it ended is billed all the same: into the budget and the
        // ledger once, as a response with the text so far.
        const spent = events.spent(error);
        if (spent) {
          record(
            {
              model: spent.model,
              text: events.partialText(),
              toolCalls: [],
              stopReason: 'other',
              usage: spent.usage,
            },
            spent.usd ?? this.deps.price(spent.model, spent.usage),
          );
        } else {
          budget.clearInFlight();
        }
        if (error.kind === 'aborted') {
          if (control.stopRequested) return { kind: 'stopped' };
          if (opts.step === 'work' && control.hasUrgent) return { kind: 'interrupted' };
          if (events.breach) return { kind: 'budget', breach: events.breach };
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
    record(response, usd);
    const miss = this.cacheWatch.check(provider.name, request, response.usage);
    if (miss) emitter.emit({ type: 'cache.missed', model, ...miss }, span);
    // A CLI agent that finished anyway after passing a cap: its work counts, the run ends.
    if (events.breach) return { kind: 'budget', breach: events.breach };
    return { kind: 'ok', response };
  }
}

/** What an attempt used before it ended, priced or to be priced. */
interface Spent {
  usage: TokenUsage;
  model: string;
  /** The provider's own price of it. */
  usd?: number;
}

/**
 * What a provider reports inside one call, as trace events under the model call's span: a CLI agent's
 * own tool calls and text, and its usage as it grows. The usage is held to the run's spend caps and
 * the tool calls to the tool-call cap (and the spend caps); past a cap, the agent is stopped.
 */
class CallEvents {
  breach: BudgetBreach | undefined;
  private deltas: TextCoalescer | undefined;
  private streamed = '';
  private lastText = '';
  private usage: Spent | undefined;
  private readonly calls = new Map<string, { span: Span; started: number }>();
  private count = 0;

  constructor(
    private readonly deps: ModelCallerDeps,
    private readonly modelSpan: Span,
    private readonly model: string,
    private readonly stop: () => void,
  ) {}

  /** A new attempt: nothing of the last one carries over. */
  begin(deltas: TextCoalescer): void {
    this.deltas = deltas;
    this.streamed = '';
    this.lastText = '';
    this.usage = undefined;
  }

  /** A streamed text delta. */
  text(delta: string): void {
    this.streamed += delta;
    this.deltas?.push(delta);
  }

  /** The text of an attempt that did not complete: what streamed, else the agent's last words. */
  partialText(): string {
    return this.streamed !== '' ? this.streamed : this.lastText;
  }

  /**
   * What the attempt used, as the provider reported it: the running total of its usage events, else
   * what a failed API call saw (the error's `spent`); undefined when it cannot be known.
   */
  spent(error: ProviderError): Spent | undefined {
    if (this.usage) return this.usage;
    if (!error.spent) return undefined;
    return { usage: error.spent.usage, model: error.spent.model ?? this.model };
  }

  handle(event: ProviderEvent): void {
    const { emitter, budget } = this.deps;
    if (event.kind === 'usage') {
      const model = event.model ?? this.model;
      this.usage = { usage: event.usage, model, ...(event.usd === undefined ? {} : { usd: event.usd }) };
      budget.setInFlight(event.usage, event.usd ?? this.deps.price(model, event.usage));
      this.check(budget.checkSpend());
      return;
    }
    this.deltas?.flush();
    if (event.kind === 'text') {
      this.lastText = event.text;
      if (event.text !== '') emitter.emit({ type: 'model.delta', text: event.text }, this.modelSpan);
      return;
    }
    if (event.kind === 'tool.call') {
      if (this.breach) return;
      if (this.check(budget.checkToolCall())) return;
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

  /** Stops the agent at the first breach; true when there is one. */
  private check(breach: BudgetBreach | undefined): boolean {
    if (!breach) return this.breach !== undefined;
    if (!this.breach) {
      this.breach = breach;
      this.stop();
    }
    return true;
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
