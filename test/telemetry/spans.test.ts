/**
 * SpanBuilder on a hand-made trace, through the OTLP JSON serializer (the wire form), attribute by
 * attribute: a model call with nonzero cache reads and writes, and a failed run whose reason quotes a
 * setup command's output, which is content.
 */
import { describe, expect, it } from 'vitest';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { otlpJson } from '../../src/telemetry/file.js';
import { attr, type OtlpRequest, type OtlpSpan } from './otlp-receiver.js';

const RUN = '20261202-100000-abcd';
const SETUP_FAILURE =
  'workspace.setup[0] "npm ci" exited with 1:\nnpm ERR! 401 Unauthorized: token npm_SECRETISH\nnpm ERR! end';

function trace(reason: string): LoopEvent[] {
  let seq = 0;
  const at = (span: string, iteration: number, body: LoopEventBody, parentSpan?: string): LoopEvent => ({
    loop: 'cached',
    run: RUN,
    iteration,
    time: new Date(Date.UTC(2026, 11, 2, 10, 0, seq)).toISOString(),
    seq: ++seq,
    span,
    ...(parentSpan === undefined ? {} : { parentSpan }),
    ...body,
  });
  const run = `run:${RUN}`;
  const it1 = `${run}/i1`;
  const call = `${it1}/model1`;
  const usage = { input: 120, output: 40, cacheRead: 3000, cacheWrite: 500, reasoning: 12 };
  return [
    at(run, 0, {
      type: 'run.started',
      trigger: 'manual',
      base: 'HEAD',
      branch: `loops/cached/${RUN}`,
      worktree: '/tmp/w',
      budget: { iterations: 1, tool_calls: null, tokens: null, usd: null, minutes: null },
    }),
    at(it1, 1, { type: 'iteration.started' }, run),
    at(
      call,
      1,
      { type: 'model.request', provider: 'anthropic', model: 'claude-sonnet-4-6', step: 'work', messages: 1 },
      it1,
    ),
    at(
      call,
      1,
      {
        type: 'model.response',
        provider: 'anthropic',
        model: 'claude-sonnet-4-6',
        step: 'work',
        text: 'the reply',
        toolCalls: [],
        stopReason: 'end_turn',
        usage,
        usd: 0.0123,
        durationMs: 900,
      },
      it1,
    ),
    at(it1, 1, { type: 'iteration.ended', verified: false, passed: [], failed: [] }, run),
    at(run, 1, {
      type: 'run.ended',
      outcome: 'failed',
      reason,
      iterations: 1,
      toolCalls: 0,
      usage,
      spend: { usd: 0.0123, unpricedCalls: 0 },
      branch: `loops/cached/${RUN}`,
      worktree: '/tmp/w',
      durationMs: 5000,
    }),
  ] as LoopEvent[];
}

function spans(events: LoopEvent[], content: boolean): OtlpSpan[] {
  const request = JSON.parse(otlpJson(events, { content, serviceVersion: '0.0.0-test' })) as OtlpRequest;
  return request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
}

function named(all: OtlpSpan[], name: string): OtlpSpan {
  const found = all.find((s) => s.name === name);
  if (!found) throw new Error(`no span ${name} among ${all.map((s) => s.name).join(', ')}`);
  return found;
}

describe('a chat span with cache reads and writes', () => {
  it('counts them inside input_tokens and under each current (and the legacy) attribute name', () => {
    const chat = named(spans(trace('done'), false), 'chat claude-sonnet-4-6');
    const expected: Record<string, unknown> = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-6',
      'gen_ai.response.model': 'claude-sonnet-4-6',
      'gen_ai.response.finish_reasons': ['end_turn'],
      'gen_ai.usage.input_tokens': 120 + 3000 + 500,
      'gen_ai.usage.output_tokens': 40,
      'gen_ai.usage.cache_read.input_tokens': 3000,
      'gen_ai.usage.cache_write.input_tokens': 500,
      'gen_ai.usage.cache_creation.input_tokens': 500,
      'gen_ai.usage.reasoning.output_tokens': 12,
      'loops.usd': 0.0123,
    };
    for (const [key, value] of Object.entries(expected))
      expect([key, attr(chat.attributes, key)]).toEqual([key, value]);
    // Integers on the wire as OTLP intValue, not doubles.
    const read = chat.attributes.find((a) => a.key === 'gen_ai.usage.cache_read.input_tokens');
    expect(Number(read?.value.intValue)).toBe(3000);
    expect(read?.value.doubleValue).toBeUndefined();
    expect(attr(chat.attributes, 'gen_ai.output.messages')).toBeUndefined();
  });
});

describe("a run's reason", () => {
  it("leaves a setup failure's output out unless content is on", () => {
    const off = named(spans(trace(SETUP_FAILURE), false), 'invoke_agent cached');
    expect(attr(off.attributes, 'loops.reason')).toBe('workspace.setup[0] "npm ci" exited with 1');
    expect(JSON.stringify(off)).not.toContain('npm_SECRETISH');
    expect(attr(off.attributes, 'loops.outcome')).toBe('failed');
    const on = named(spans(trace(SETUP_FAILURE), true), 'invoke_agent cached');
    expect(attr(on.attributes, 'loops.reason')).toBe(SETUP_FAILURE);
  });

  it('keeps a one-line reason whole', () => {
    const run = named(spans(trace('budget: iterations 1 of 1 used'), false), 'invoke_agent cached');
    expect(attr(run.attributes, 'loops.reason')).toBe('budget: iterations 1 of 1 used');
  });
});
