/**
 * Triage before a triggered run (`trigger: { triage: "run only when the failure is in src/" }`): one
 * cheap call on the loop's `triage` route asks whether the event is worth a run, answered through a
 * forced `submit_triage` tool call. The call is made outside any run, in a spend scope of its own
 * (core/run/outside-call.ts): it is priced in the loop's ledger under step `triage`, so a skipped
 * event costs that one call and nothing else. The decision is emitted as `triage.decided`, and a run
 * it lets through has it in its context (`TriggerContext.triage`).
 *
 * Fail closed: a triage that cannot decide (a provider error, a key missing, a cap, a reply still
 * malformed after one retry, a provider that cannot triage) skips the event, with the reason in
 * `triage.decided` and `trigger.fired`. Triage exists to keep spending down; an outage must not
 * turn every event into a run nobody asked for.
 *
 * Every trigger starts through `triageThenStart`: without `trigger.triage` it is a plain start.
 */
import type { CommandReply } from '../core/control.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import type { JobContext } from '../core/jobs.js';
import type { TriggerContext } from '../core/trigger-context.js';
import type { CallGate } from '../core/budget/call-gate.js';
import type { Pricer } from '../core/run/model-caller.js';
import type { CallResult } from '../core/run/model-caller.js';
import { openOutsideCall } from '../core/run/outside-call.js';
import type { LoopEvent } from '../core/events.js';
import { loopProvider } from '../core/run/loop-provider.js';
import type { ModelProvider } from '../models/provider.js';
import { describeBreach } from '../core/budget/caps.js';
import { clipMiddle } from '../core/verify/clip.js';
import { TRIAGE_PROVIDERS } from '../core/definition/triage-warnings.js';
import {
  eventMessage,
  readTriage,
  REASON_CHARS,
  retryMessages,
  TRIAGE_TOOL,
  triageSystem,
  triageTool,
} from './triage-answer.js';

const TRIAGE_PROVIDER_SET: ReadonlySet<string> = new Set(TRIAGE_PROVIDERS);
/** A yes or no and a sentence: a small answer. */
const TRIAGE_MAX_TOKENS = 512;

export interface TriageOptions {
  /** Makes the provider for the call; default: the loop's own provider (API providers and scripted). */
  createProvider?: (def: LoopDefinition, env: NodeJS.ProcessEnv) => Promise<ModelProvider>;
  /** Default: the price table for the loop's provider. */
  price?: Pricer;
  /** The fleet's caps, checked before the call like any run's. */
  callGate?: CallGate;
  /** The SDKs' own retries; default 2. */
  maxRetries?: number;
  /** Every event of the call (model.request/response...), for tests and logs. */
  onEvent?: (event: LoopEvent) => void;
  /**
   * Where each billed call is counted as it happens (the fleet gate's daily and burn-rate caps). A
   * triage call is outside any run, so its model.response is on no event stream the gate watches:
   * without this a burst of triaged events would pass the caps until the next start reseeds them.
   */
  countSpend?: (event: LoopEvent) => void;
}

export interface TriageDecision {
  decision: 'run' | 'skip';
  reason: string;
  model: string;
  /** Dollars the call cost; null when a call could not be priced. */
  usd: number | null;
  /** The pseudo-run its calls are in the ledger under (`triage-...`). */
  ledgerRun?: string;
  /** The triage could not decide (and so skipped: fail closed). */
  failed?: boolean;
}

/**
 * Asks the loop's triage model about one event and emits `triage.decided`. Never throws: whatever
 * goes wrong is a skip with the reason.
 */
export async function triageEvent(
  ctx: JobContext,
  def: LoopDefinition,
  context: TriggerContext,
  options: TriageOptions = {},
): Promise<TriageDecision> {
  const decided = await decide(ctx, def, context, options);
  ctx.emit('trigger', def.name, {
    type: 'triage.decided',
    trigger: context.kind,
    decision: decided.decision,
    reason: decided.reason,
    model: decided.model,
    usd: decided.usd,
  });
  return decided;
}

async function decide(
  ctx: JobContext,
  def: LoopDefinition,
  context: TriggerContext,
  options: TriageOptions,
): Promise<TriageDecision> {
  const instruction = def.trigger.triage ?? '';
  const model = def.agent.route.triage ?? def.model;
  const failed = (
    why: string,
    spent?: Pick<TriageDecision, 'usd' | 'ledgerRun' | 'model'>,
  ): TriageDecision => ({
    decision: 'skip',
    reason: clipMiddle(`triage failed, so the event is skipped: ${why}`, REASON_CHARS),
    model,
    usd: 0,
    ...spent,
    failed: true,
  });
  if (!TRIAGE_PROVIDER_SET.has(def.agent.provider))
    return failed(`the ${def.agent.provider} provider cannot make a triage call (use anthropic or openai)`);
  let provider: ModelProvider;
  try {
    provider = await (options.createProvider ?? defaultProvider(options.maxRetries))(def, ctx.env);
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
  let scope;
  try {
    scope = await openOutsideCall({
      definition: def,
      step: 'triage',
      provider,
      paths: ctx.paths,
      signal: ctx.signal,
      ...(options.price ? { price: options.price } : {}),
      ...(options.callGate ? { callGate: options.callGate } : {}),
      ...(options.onEvent || options.countSpend ? { onEvent: callEvents(options) } : {}),
    });
  } catch (err) {
    return failed(
      `the spend ledger could not be opened: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const { caller, budget } = scope;
  const spent = (): Pick<TriageDecision, 'usd' | 'ledgerRun' | 'model'> => ({
    usd: budget.unpricedCalls > 0 ? null : budget.usd,
    ledgerRun: scope.run,
    model: caller.modelFor('triage'),
  });
  try {
    const system = triageSystem(def, instruction);
    const first = eventMessage(context);
    let messages = [first];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const result = await caller.call({
        step: 'triage',
        system,
        messages,
        tools: [triageTool()],
        toolChoice: { type: 'tool', name: TRIAGE_TOOL },
        maxTokens: TRIAGE_MAX_TOKENS,
      });
      if (result.kind !== 'ok') return failed(callFailure(result), spent());
      const read = readTriage(result.response);
      if (read.ok) {
        return {
          decision: read.answer.run ? 'run' : 'skip',
          reason: read.answer.reason,
          ...spent(),
          model: result.response.model,
        };
      }
      if (attempt === 2)
        return failed(`the answer was still malformed after one retry: ${read.problem}`, spent());
      messages = retryMessages(first, read);
    }
    return failed('no answer', spent());
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err), spent());
  } finally {
    await scope.close().catch((err: unknown) => ctx.reportError(err));
  }
}

function callEvents({ onEvent, countSpend }: TriageOptions): (event: LoopEvent) => void {
  return (event) => {
    if (event.type === 'model.response') countSpend?.(event);
    onEvent?.(event);
  };
}

function defaultProvider(
  maxRetries: number | undefined,
): (def: LoopDefinition, env: NodeJS.ProcessEnv) => Promise<ModelProvider> {
  return (def, env) => loopProvider(def, env, maxRetries === undefined ? {} : { maxRetries });
}

function callFailure(result: Exclude<CallResult, { kind: 'ok' }>): string {
  switch (result.kind) {
    case 'budget':
      return describeBreach(result.breach);
    case 'stopped':
    case 'interrupted':
      return 'the call was stopped (loops is shutting down)';
    case 'failed':
      return result.error.message;
  }
}

/** What became of a triggered event. */
export interface TriggerStart {
  /** `skipped`: triage (or the overlap rule, before triage) let it go; the others are the start's reply. */
  status: 'started' | 'queued' | 'refused' | 'skipped';
  reason: string;
  reply?: CommandReply;
  triage?: TriageDecision;
}

export interface TriggerStartOptions {
  /** The label for lists; default: the context's kind. */
  trigger?: string;
  triage?: TriageOptions;
}

/**
 * A trigger's start: triage first when the loop has `trigger.triage`, then the start command with
 * the loop's overlap rule; emits one `trigger.fired` saying what became of the event. Callers (cron,
 * watch, webhook) emit no `trigger.fired` of their own for it.
 */
export async function triageThenStart(
  ctx: JobContext,
  def: LoopDefinition,
  context: TriggerContext,
  options: TriggerStartOptions = {},
): Promise<TriggerStart> {
  let ctxForRun = context;
  let triage: TriageDecision | undefined;
  if (def.trigger.triage !== undefined && !wouldBeDropped(ctx, def)) {
    triage = await triageEvent(ctx, def, context, options.triage);
    if (triage.decision === 'skip') {
      const skipped: TriggerStart = { status: 'skipped', reason: `triage: ${triage.reason}`, triage };
      fired(ctx, def, context, skipped);
      return skipped;
    }
    ctxForRun = { ...context, triage: { reason: triage.reason } };
  }
  const reply = ctx.send({
    type: 'start',
    loop: def.name,
    trigger: options.trigger ?? context.kind,
    context: ctxForRun,
    overlap: def.trigger.overlap,
  });
  const started: TriggerStart = {
    status: firedStatus(reply),
    reason: reply.reason,
    reply,
    ...(triage ? { triage } : {}),
  };
  fired(ctx, def, context, started);
  return started;
}

/**
 * The start would be dropped by the overlap rule whatever triage says: the loop is at its own
 * concurrency and either drops, or already has a start queued. Then no call is spent on triage.
 */
function wouldBeDropped(ctx: JobContext, def: LoopDefinition): boolean {
  const snapshot = ctx.port.snapshot?.();
  if (!snapshot) return false;
  const running = snapshot.runs.filter((r) => r.loop === def.name).length;
  if (running < def.concurrency) return false;
  if (def.trigger.overlap === 'drop') return true;
  return snapshot.queue.some((q) => q.loop === def.name);
}

/** The overlap rule letting an event go is a skip, not a failure; other refusals stay refusals. */
function firedStatus(reply: CommandReply): TriggerStart['status'] {
  if (reply.status === 'started' || reply.status === 'queued') return reply.status;
  if (reply.status === 'refused' && reply.reason.startsWith('dropped:')) return 'skipped';
  return reply.ok ? 'started' : 'refused';
}

function fired(ctx: JobContext, def: LoopDefinition, context: TriggerContext, start: TriggerStart): void {
  ctx.emit('trigger', def.name, {
    type: 'trigger.fired',
    trigger: context.kind,
    detail: context.detail,
    status: start.status,
    reason: start.reason,
    ...(start.reply ? { command: start.reply.id } : {}),
    ...(start.reply?.run === undefined ? {} : { target: start.reply.run }),
  });
}
