import { describe, expect, it } from 'vitest';
import { describeEvent } from '../../src/core/describe.js';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';

const stamp = (body: LoopEventBody): LoopEvent => ({
  loop: 'l',
  run: 'r',
  iteration: 1,
  time: '2026-11-24T00:00:00.000Z',
  seq: 1,
  span: 's',
  ...body,
});

const response = (step: 'work' | 'summary' | 'review', text: string): LoopEvent =>
  stamp({
    type: 'model.response',
    provider: 'scripted',
    model: 'judge-model',
    step,
    text,
    toolCalls: [],
    stopReason: 'end_turn',
    usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
    durationMs: 1,
  });

describe('describeEvent', () => {
  it("shows the agent's text, but labels a handoff and a judge's verdict as one line each", () => {
    expect(describeEvent(response('work', 'Fixing it.\nThen testing.')).map((l) => l.text)).toEqual([
      'Fixing it.',
      'Then testing.',
    ]);
    expect(describeEvent(response('summary', 'Goal: green tests\nNext: more'))).toEqual([
      { kind: 'model', text: '✎ memory handoff: Goal: green tests' },
    ]);
    expect(describeEvent(response('review', '{"result":"satisfied"}'))).toEqual([
      { kind: 'grader', text: '⚖ review (judge-model): {"result":"satisfied"}' },
    ]);
  });

  it("shows a judge's submit_verdict call, not the text beside it", () => {
    const event = response('review', '{"result":"satisfied"}');
    if (event.type !== 'model.response') throw new Error('a model.response');
    event.toolCalls = [
      {
        id: 'v',
        name: 'submit_verdict',
        input: { result: 'needs_revision', score: 0.456, explanation: 'Prices lack cents.\nMore.' },
      },
    ];
    expect(describeEvent(event)).toEqual([
      { kind: 'grader', text: '⚖ review (judge-model): needs_revision (score 0.46): Prices lack cents.' },
    ]);
  });

  it('shows the first failure of a failing test run rather than its banner', () => {
    const output = [
      'TAP version 13',
      '# Subtest: adds',
      'ok 1 - adds',
      '# Subtest: formatPrice shows dollars',
      'not ok 2 - formatPrice shows dollars',
      '  ---',
      "  error: 'Expected values to be strictly equal'",
      '  ...',
      '# fail 1',
      '[exit code 1]',
    ].join('\n');
    const [line] = describeEvent(
      stamp({ type: 'tool.result', callId: 'c', name: 'run', ok: false, output, durationMs: 1 }),
    );
    expect(line?.text).toMatch(/^← exit 1: not ok .*formatPrice/);
  });

  it('shows a retry with its status, its wait and where the wait came from', () => {
    const retry = (status: number | undefined, waitFrom: 'retry-after' | 'backoff'): LoopEvent =>
      stamp({
        type: 'provider.retry',
        provider: 'openai',
        model: 'm',
        step: 'work',
        attempt: 2,
        ...(status === undefined ? {} : { status }),
        kind: status === undefined ? 'connection' : 'rate_limit',
        waitMs: 1500,
        waitFrom,
        reason: 'slow down\nmore',
        usage: 'unknown',
      });
    expect(describeEvent(retry(429, 'retry-after'))).toEqual([
      {
        kind: 'error',
        ok: false,
        text: '↻ openai attempt 2 failed (HTTP 429); retrying in 1.5s (retry-after): slow down',
      },
    ]);
    expect(describeEvent(retry(undefined, 'backoff'))[0]?.text).toBe(
      '↻ openai attempt 2 failed (connection); retrying in 1.5s: slow down',
    );
  });
});
