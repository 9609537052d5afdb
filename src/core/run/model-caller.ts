/**
 * Every model call of a run goes through here: the agent's work, memory compression, a judge's
 * verdict. One place checks the caps before the call, routes the step to its model, streams the text
 * into the trace, records usage and price, notices caching that did not happen, and emits the
 * request/response events, so nothing a run spends is off the books.
 *
 * Every retry is a call: the providers make none of their own, so a retryable failure (a 429, a 5xx,
 * a connection that broke off, a timeout) comes back here, is shown as a `provider.retry` event, waits
 * out the API's retry-after (else an exponential back-off), and makes another attempt that is checked
 * against the caps and gets its own model.request, like any call. A wait longer than the time left
 * ends the run on its minutes budget at once, rather than after the wait.
 *
 * One clock bounds it all: each attempt and each retry wait is aborted by the run's deadline (the
 * minutes cap), by a stop, and (for the agent's work) by a person's `!`; the request's timeout is set
 * from the time left.
 *
 * A CLI agent's call is a whole session: its usage, reported as it grows, is held to the spend caps
 * while it runs, and the agent is stopped at a breach. Whatever way an attempt ends, what it used (as
 * far as the provider said) is recorded once, on a model.response: an attempt that did not complete
 * gets one with the text so far and stopReason `other`, before the error or the stop that ended it.
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
import { CacheWatch } from '../../models/cache-watch.js';
import { TextCoalescer } from '../../models/text-coalescer.js';
import type { BudgetBreach, BudgetTracker } from '../budget/caps.js';
import { clipMiddle } from '../verify/clip.js';
import type { Emitter } from './emitter.js';
import type { RunControl } from './control.js';
import { backoffMs, sleep } from './retry-wait.js';
import type { CallGate } from '../budget/call-gate.js';
import { routedModel, summaryModel } from './step-model.js';

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
  /** The wait before the retry after failed attempt `attempt`, when the API names none; tests shorten it. */
  backoff?: (attempt: number) => number;
  /** Checked before every attempt after the run's own caps: the fleet's caps (core/budget/call-gate.ts). */
  callGate?: CallGate;
  /** The run's id, for the call gate. */
  run?: string;
}

type Span = { span: string; parentSpan: string };

/** One attempt's end: a result for the caller, or a failure worth another attempt. */
type Attempt = CallResult | { kind: 'retry'; error: ProviderError; usage: 'recorded' | 'unknown' };

/** The SDKs' own default; the deadline usually ends a request long before. */
const REQUEST_TIMEOUT_MS = 10 * 60_000;
/** A request's timeout runs this much past the deadline, so the deadline (a budget end) is what fires. */
const TIMEOUT_GRACE_MS = 1_000;
/** Text a single call may put in the trace: a CLI agent printing megabytes must not make a huge trace. */
export const TRACE_TEXT_CHARS = 100_000;
/** A CLI agent's own tool results and messages, as the trace keeps them. */
const EVENT_TEXT_CHARS = 16_000;

export class ModelCaller {
  private readonly cacheWatch = new CacheWatch();

  constructor(private readonly deps: ModelCallerDeps) {}

  get providerName(): string {
    return this.deps.provider.name;
  }

  /**
   * The model a step uses: the loop's route for that step, else its default (core/run/step-model.ts:
   * triage on the provider's small model, a memory handoff there when that is cheaper for this
   * request, everything else on the loop's model). The analyst is a review: it reads traces and
   * judges what goes wrong, on the review model.
   */
  modelFor(step: ModelStep, request?: Pick<CallOptions, 'system' | 'messages' | 'tools'>): string {
    const def = this.deps.definition;
    if (step === 'summary' && request !== undefined) {
      const chars =
        request.system.length +
        JSON.stringify(request.messages).length +
        JSON.stringify(request.tools ?? []).length;
      return summaryModel(def, this.deps.price, chars);
    }
    return routedModel(def, step);
  }

  async call(opts: CallOptions): Promise<CallResult> {
    const { provider, budget, control } = this.deps;
    if (control.stopRequested) return { kind: 'stopped' };
    const model = opts.model ?? this.modelFor(opts.step, opts);
    // `!` is for the agent: it interrupts the agent's own work, never a judge's verdict or a memory
    // handoff, which only a stop cuts short.
    const runSignal = opts.step === 'work' ? control.callSignal() : control.stopSignal;
    const retries = provider.maxRetries ?? 0;
    for (let attempt = 1; ; attempt++) {
      // Every attempt, the first and each retry, is checked against the caps like any call.
      if (control.stopRequested) return { kind: 'stopped' };
      const breach = budget.checkModelCall();
      if (breach) return { kind: 'budget', breach };
      if (await this.heldByGate(opts, model)) return { kind: 'stopped' };
      const ended = await this.attemptOnce(opts, model, runSignal, attempt <= retries);
      if (ended.kind !== 'retry') return ended;
      const waited = await this.waitToRetry(opts, model, runSignal, attempt, ended);
      if (waited) return waited;
    }
  }

  /** Waits while the call gate holds calls back (the minutes budget stands still); true when stopped meanwhile. */
  private async heldByGate(opts: CallOptions, model: string): Promise<boolean> {
    const { callGate, control, definition } = this.deps;
    if (!callGate) return false;
    const call = { loop: definition.name, run: this.deps.run ?? '', model, step: opts.step };
    const answer = await control.waitingForPerson(() => callGate.wait(call, control.stopSignal));
    return answer === 'stopped' || control.stopRequested;
  }

  /** One request to the provider, with its own model.request and (when anything was used) model.response. */
  private async attemptOnce(
    opts: CallOptions,
    model: string,
    runSignal: AbortSignal,
    mayRetry: boolean,
  ): Promise<Attempt> {
    const { provider, budget, emitter, definition } = this.deps;
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
    const deltas = new TextCoalescer((text) => emitter.emit({ type: 'model.delta', text }, span));
    const events = new CallEvents(this.deps, span, model, deltas, () => capAbort.abort());
    const signal = AbortSignal.any([runSignal, capAbort.signal, budget.deadline.signal]);
    const request: ModelRequest = {
      model,
      system: opts.system,
      messages: opts.messages,
      tools: opts.tools ?? [],
      ...(opts.toolChoice ? { toolChoice: opts.toolChoice } : {}),
      maxTokens: opts.maxTokens ?? definition.agent.max_tokens,
      step: opts.step,
      cacheKey: `loops:${definition.name}`,
      signal,
      timeoutMs: Math.min(REQUEST_TIMEOUT_MS, Math.ceil(budget.deadline.remainingMs()) + TIMEOUT_GRACE_MS),
      onText: (delta) => events.text(delta),
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
          text: clipMiddle(response.text, TRACE_TEXT_CHARS),
          toolCalls: response.toolCalls,
          stopReason: response.stopReason,
          usage: response.usage,
          usd,
          durationMs: Date.now() - started,
        },
        span,
      );
    };

    let response: ModelResponse;
    try {
      response = await provider.complete(request);
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
      if (error.kind === 'aborted' || error.kind === 'timeout' || signal.aborted) {
        const cut = this.whyCut(opts.step, events.breach);
        if (cut) return cut;
      }
      if (error.retryable && mayRetry) return { kind: 'retry', error, usage: spent ? 'recorded' : 'unknown' };
      emitter.emit({ type: 'run.error', kind: `provider.${error.kind}`, message: error.message }, span);
      return { kind: 'failed', error };
    }
    deltas.flush();

    // A provider's own figure wins; a local estimate is never priced (unpriced, not $0).
    const usd = response.usd ?? (response.estimated ? null : this.deps.price(response.model, response.usage));
    record(response, usd);
    const miss = this.cacheWatch.check(provider.name, request, response.usage);
    if (miss) emitter.emit({ type: 'cache.missed', model, ...miss }, span);
    // A CLI agent that finished anyway after passing a cap: its work counts, the run ends.
    if (events.breach) return { kind: 'budget', breach: events.breach };
    return { kind: 'ok', response };
  }

  /** Why a call was cut short, if it was: a stop, a `!`, a cap in flight, or the deadline. */
  private whyCut(step: ModelStep, breach: BudgetBreach | undefined): CallResult | undefined {
    const { control, budget } = this.deps;
    if (control.stopRequested) return { kind: 'stopped' };
    if (step === 'work' && control.hasUrgent) return { kind: 'interrupted' };
    if (breach) return { kind: 'budget', breach };
    if (budget.deadline.expired) return { kind: 'budget', breach: budget.minutesBreach() };
    return undefined;
  }

  /**
   * Between a failed attempt and the next: says so in the trace, and waits what the API asked (else a
   * back-off), unless that wait would outlast the minutes budget. Returns how the call ends, if it does.
   */
  private async waitToRetry(
    opts: CallOptions,
    model: string,
    runSignal: AbortSignal,
    attempt: number,
    failed: { error: ProviderError; usage: 'recorded' | 'unknown' },
  ): Promise<CallResult | undefined> {
    const { provider, budget, emitter } = this.deps;
    const { error } = failed;
    const asked = error.retryAfterMs;
    const waitMs = asked ?? (this.deps.backoff ?? backoffMs)(attempt);
    const left = budget.deadline.remainingMs();
    if (waitMs >= left) {
      const why = `${provider.name} asked to wait ${seconds(waitMs)} before a retry, longer than the ${seconds(left)} left`;
      emitter.emit({
        type: 'run.error',
        kind: `provider.${error.kind}`,
        message: `${error.message} (${why})`,
      });
      return { kind: 'budget', breach: budget.minutesBreach(why) };
    }
    const unknown =
      failed.usage === 'unknown' ? '; what the failed attempt used is unknown (the provider never said)' : '';
    emitter.emit({
      type: 'provider.retry',
      provider: provider.name,
      model,
      step: opts.step,
      attempt,
      ...(error.status === undefined ? {} : { status: error.status }),
      kind: error.kind,
      waitMs,
      waitFrom: asked === undefined ? 'backoff' : 'retry-after',
      reason: `${error.message}${unknown}`,
      usage: failed.usage,
    });
    const woke = await sleep(waitMs, AbortSignal.any([runSignal, budget.deadline.signal]));
    if (woke === 'aborted') return this.whyCut(opts.step, undefined) ?? { kind: 'stopped' };
    return undefined;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
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
  private streamed = '';
  /** Characters of text put in the trace so far; past TRACE_TEXT_CHARS the rest is left out. */
  private traced = 0;
  private lastText = '';
  private usage: Spent | undefined;
  private readonly calls = new Map<string, { span: Span; started: number }>();
  private count = 0;

  constructor(
    private readonly deps: ModelCallerDeps,
    private readonly modelSpan: Span,
    private readonly model: string,
    private readonly deltas: TextCoalescer,
    private readonly stop: () => void,
  ) {}

  /** A streamed text delta: kept for a partial response, and in the trace up to TRACE_TEXT_CHARS. */
  text(delta: string): void {
    if (this.streamed.length < TRACE_TEXT_CHARS) this.streamed += delta;
    this.trace(delta);
  }

  private trace(text: string): void {
    if (this.traced >= TRACE_TEXT_CHARS) return;
    const room = TRACE_TEXT_CHARS - this.traced;
    this.traced += text.length;
    if (text.length <= room) {
      this.deltas.push(text);
      return;
    }
    this.deltas.push(text.slice(0, room));
    this.deltas.push(
      `\n[… the rest of this call's text is not in the trace: over ${TRACE_TEXT_CHARS} chars]\n`,
    );
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
    this.deltas.flush();
    if (event.kind === 'text') {
      this.lastText = clipMiddle(event.text, EVENT_TEXT_CHARS);
      if (event.text !== '' && this.traced < TRACE_TEXT_CHARS) {
        this.traced += this.lastText.length;
        emitter.emit({ type: 'model.delta', text: this.lastText }, this.modelSpan);
      }
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
        output: clipMiddle(event.output, EVENT_TEXT_CHARS),
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
