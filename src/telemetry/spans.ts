/**
 * A run's events as OpenTelemetry spans, following the GenAI conventions: the run is `invoke_agent
 * LOOP`, each iteration a span under it, each model call `chat MODEL`, each tool call `execute_tool
 * NAME`, each grader a span with a `gen_ai.evaluation.result` event. Fed one event at a time (live
 * export) or a whole trace file (`loops trace --otlp`), it gives the same spans with the same ids:
 * OTLP ids are derived from the trace's own span ids, which are not hex.
 *
 * Prompt, reply and tool content (and the output a failed command's reason quotes) is exported only
 * when the loop opts in (`telemetry: { content: true }`).
 */
import { createHash } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { LoopEvent } from '../core/events.js';
import { GEN_AI, providerName } from './genai.js';

export interface SpanOptions {
  /** Export prompt/reply text, tool arguments and results, and grader feedback. */
  content: boolean;
  serviceVersion: string;
}

export function traceIdFor(loop: string, run: string): string {
  return createHash('sha256').update(`loops-trace\0${loop}\0${run}`).digest('hex').slice(0, 32);
}

export function spanIdFor(loop: string, span: string): string {
  return createHash('sha256').update(`loops-span\0${loop}\0${span}`).digest('hex').slice(0, 16);
}

interface Open {
  name: string;
  kind: SpanKind;
  span: string;
  parent: string | undefined;
  start: number;
  attributes: Attributes;
  events: TimedEvent[];
  error?: string;
}

/** Turns events into finished spans as they complete. */
export class SpanBuilder {
  private readonly open = new Map<string, Open>();
  private readonly resource: Resource;
  private provider = '';
  private runSpan = '';

  constructor(private readonly options: SpanOptions) {
    this.resource = resourceFromAttributes({
      'service.name': 'loops',
      'service.version': options.serviceVersion,
    });
  }

  /** The spans this event finished (often none). */
  add(event: LoopEvent): ReadableSpan[] {
    const at = Date.parse(event.time);
    const done: ReadableSpan[] = [];
    const c = this.options.content;
    switch (event.type) {
      case 'run.started':
        this.runSpan = event.span;
        this.begin(event.span, undefined, `invoke_agent ${event.loop}`, SpanKind.INTERNAL, at, {
          [GEN_AI.operationName]: 'invoke_agent',
          [GEN_AI.agentName]: event.loop,
          [GEN_AI.agentId]: event.loop,
          [GEN_AI.conversationId]: event.run,
          'loops.run': event.run,
          'loops.trigger': event.trigger,
          'loops.branch': event.branch,
          'loops.base': event.base,
        });
        break;
      case 'iteration.started':
        this.begin(event.span, event.parentSpan, `iteration ${event.iteration}`, SpanKind.INTERNAL, at, {
          'loops.iteration': event.iteration,
        });
        break;
      case 'iteration.ended':
        this.set(event.span, { 'loops.verified': event.verified });
        done.push(...this.finish(event.loop, event.run, event.span, at));
        break;
      case 'model.request':
        this.provider ||= event.provider;
        this.begin(event.span, event.parentSpan, `chat ${event.model}`, SpanKind.CLIENT, at, {
          [GEN_AI.operationName]: 'chat',
          [GEN_AI.providerName]: providerName(event.provider),
          [GEN_AI.requestModel]: event.model,
          [GEN_AI.requestStream]: true,
          [GEN_AI.conversationId]: event.run,
          'loops.step': event.step,
        });
        break;
      case 'model.response': {
        const u = event.usage;
        this.set(event.span, {
          [GEN_AI.responseModel]: event.model,
          [GEN_AI.responseFinishReasons]: [event.stopReason],
          [GEN_AI.usageInput]: u.input + u.cacheRead + u.cacheWrite,
          [GEN_AI.usageOutput]: u.output,
          [GEN_AI.usageCacheRead]: u.cacheRead,
          [GEN_AI.usageCacheWrite]: u.cacheWrite,
          [GEN_AI.usageCacheCreationLegacy]: u.cacheWrite,
          ...(u.reasoning === undefined ? {} : { [GEN_AI.usageReasoning]: u.reasoning }),
          ...(event.usd === undefined || event.usd === null
            ? { 'loops.unpriced': event.usd === null }
            : { 'loops.usd': event.usd }),
          ...(c
            ? { [GEN_AI.outputMessages]: JSON.stringify(outputMessages(event.text, event.toolCalls)) }
            : {}),
        });
        done.push(...this.finish(event.loop, event.run, event.span, at));
        break;
      }
      case 'tool.call':
        this.begin(event.span, event.parentSpan, `execute_tool ${event.name}`, SpanKind.INTERNAL, at, {
          [GEN_AI.operationName]: 'execute_tool',
          [GEN_AI.toolName]: event.name,
          [GEN_AI.toolCallId]: event.callId,
          [GEN_AI.toolType]: event.name.startsWith('mcp__') ? 'extension' : 'function',
          ...(c ? { [GEN_AI.toolCallArguments]: JSON.stringify(event.input) } : {}),
        });
        break;
      case 'tool.result':
        this.set(event.span, c ? { [GEN_AI.toolCallResult]: event.output } : {});
        if (!event.ok) this.fail(event.span, 'tool_error');
        done.push(...this.finish(event.loop, event.run, event.span, at));
        break;
      case 'grader.started': {
        const span = graderSpan(event.span, event.grader);
        this.begin(span, event.span, `grader ${event.grader}`, SpanKind.INTERNAL, at, {
          'loops.grader': event.grader,
          'loops.grader.kind': event.kind,
        });
        break;
      }
      case 'grader.result': {
        const span = graderSpan(event.span, event.name);
        const open = this.open.get(span);
        if (!open)
          this.begin(span, event.span, `grader ${event.name}`, SpanKind.INTERNAL, at - event.durationMs, {});
        this.set(span, { 'loops.grader.passed': event.passed });
        this.open.get(span)?.events.push({
          name: GEN_AI.evaluationResult,
          time: hr(at),
          attributes: {
            [GEN_AI.evaluationName]: event.name,
            [GEN_AI.evaluationScoreLabel]: event.error ? 'error' : event.passed ? 'pass' : 'fail',
            ...(event.score === undefined ? {} : { [GEN_AI.evaluationScoreValue]: event.score }),
            ...(c && event.feedback ? { [GEN_AI.evaluationExplanation]: event.feedback } : {}),
          },
          droppedAttributesCount: 0,
        });
        if (event.error) this.fail(span, 'grader_error');
        done.push(...this.finish(event.loop, event.run, span, at));
        break;
      }
      case 'run.error':
        this.fail(event.span, event.kind);
        break;
      case 'run.ended':
        this.set(this.runSpan || event.span, {
          'loops.outcome': event.outcome,
          'loops.reason': c ? event.reason : reasonWithoutOutput(event.reason),
          'loops.iterations': event.iterations,
          'loops.tool_calls': event.toolCalls,
          'loops.usd': event.spend.usd,
          'loops.unpriced_calls': event.spend.unpricedCalls,
          ...(this.provider ? { [GEN_AI.providerName]: providerName(this.provider) } : {}),
        });
        if (event.outcome === 'failed') this.fail(this.runSpan || event.span, 'run_failed');
        // Whatever is still open (a call cut off by the ending) ends with the run, children first.
        for (const span of [...this.open.keys()].reverse())
          done.push(...this.finish(event.loop, event.run, span, at));
        break;
      default:
        break;
    }
    return done;
  }

  private begin(
    span: string,
    parent: string | undefined,
    name: string,
    kind: SpanKind,
    start: number,
    attributes: Attributes,
  ): void {
    this.open.set(span, { name, kind, span, parent, start, attributes: { ...attributes }, events: [] });
  }

  private set(span: string, attributes: Attributes): void {
    const open = this.open.get(span);
    if (open) Object.assign(open.attributes, attributes);
  }

  private fail(span: string, type: string): void {
    const open = this.open.get(span);
    if (open) {
      open.error ??= type;
      open.attributes[GEN_AI.errorType] ??= type;
    }
  }

  private finish(loop: string, run: string, span: string, end: number): ReadableSpan[] {
    const open = this.open.get(span);
    if (!open) return [];
    this.open.delete(span);
    const traceId = traceIdFor(loop, run);
    const endTime = Math.max(end, open.start);
    return [
      {
        name: open.name,
        kind: open.kind,
        spanContext: () => ({ traceId, spanId: spanIdFor(loop, open.span), traceFlags: TraceFlags.SAMPLED }),
        ...(open.parent === undefined
          ? {}
          : {
              parentSpanContext: {
                traceId,
                spanId: spanIdFor(loop, open.parent),
                traceFlags: TraceFlags.SAMPLED,
              },
            }),
        startTime: hr(open.start),
        endTime: hr(endTime),
        duration: hr(endTime - open.start),
        status: open.error
          ? { code: SpanStatusCode.ERROR, message: open.error }
          : { code: SpanStatusCode.UNSET },
        attributes: open.attributes,
        links: [],
        events: open.events,
        ended: true,
        resource: this.resource,
        instrumentationScope: { name: 'loops', version: this.options.serviceVersion },
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      },
    ];
  }
}

/**
 * A run's reason without what a command printed: a failed setup's reason ends with its output's tail,
 * a server's start failure with its stderr, on the lines after the first. Content, so exported only
 * when the loop opts in; the first line (what failed, and how) is the reason itself.
 */
export function reasonWithoutOutput(reason: string): string {
  const [first = ''] = reason.split('\n', 1);
  return first === reason ? reason : first.replace(/:\s*$/, '');
}

/** Graders share their iteration's span in the trace; each gets a span of its own here. */
function graderSpan(iterationSpan: string, grader: string): string {
  return `${iterationSpan}/grader:${grader}`;
}

function hr(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function outputMessages(
  text: string,
  toolCalls: Array<{ id: string; name: string; input: unknown }>,
): unknown[] {
  const parts: unknown[] = [];
  if (text) parts.push({ type: 'text', content: text });
  for (const call of toolCalls)
    parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: call.input });
  return [{ role: 'assistant', parts }];
}

/** Every span of a recorded run. */
export function spansOf(events: readonly LoopEvent[], options: SpanOptions): ReadableSpan[] {
  const builder = new SpanBuilder(options);
  return events.flatMap((e) => builder.add(e));
}
