import { describe, expect, it } from 'vitest';
import type { LoopEvent } from '../../src/core/events.js';
import { initialState, markStopping, selectLoop, type UiState } from '../../src/ui/state.js';
import { reduce } from '../../src/ui/store.js';
import { ended, loopInfo, modelResponse, runEvents, started, toolCall, usage } from './fake-port.js';

const seed = (): UiState => initialState([loopInfo('alpha'), loopInfo('beta')]);

function view(state: UiState, name: string) {
  const found = state.loops.find((loop) => loop.info.name === name);
  if (found === undefined) throw new Error(`no loop ${name} in state`);
  return found;
}

describe('reduce: status', () => {
  it('seeds idle loops, or the last outcome when one is known', () => {
    const state = initialState([loopInfo('alpha'), loopInfo('beta', { lastOutcome: 'failed' })]);
    expect(state.loops.map((loop) => loop.status)).toEqual(['idle', 'failed']);
    expect(state.version).toBe(0);
  });

  it('follows a run: started → paused → resumed → ended with the outcome', () => {
    const e = runEvents('alpha', 'r1');
    let state = reduce(seed(), [e(started({ iterations: 20, tool_calls: 50 }))]);
    expect(view(state, 'alpha')).toMatchObject({
      status: 'running',
      run: 'r1',
      maxIterations: 20,
      maxToolCalls: 50,
      branch: 'loops/x/r1',
    });
    state = reduce(state, [e({ type: 'run.paused' })]);
    expect(view(state, 'alpha').status).toBe('paused');
    state = reduce(state, [e({ type: 'run.resumed' })]);
    expect(view(state, 'alpha').status).toBe('running');
    state = reduce(state, [e(ended('budget', 'iterations: 20 of 20'))]);
    expect(view(state, 'alpha')).toMatchObject({
      status: 'budget',
      lastReason: 'iterations: 20 of 20',
      iteration: 2,
      toolCalls: 3,
      tokens: 165,
    });
  });

  it('counts iterations, tool calls and all four kinds of tokens', () => {
    const e = runEvents('alpha', 'r1');
    const state = reduce(seed(), [
      e(started()),
      e({ type: 'iteration.started' }),
      e(modelResponse('first', usage(100, 20, 300, 4))),
      e(toolCall('read_file', { path: 'a.ts' })),
      e(toolCall('run', { command: 'npm test' })),
      e({ type: 'iteration.started' }),
      e(modelResponse('second', usage(1, 2, 3, 4))),
    ]);
    expect(view(state, 'alpha')).toMatchObject({ iteration: 2, toolCalls: 2, tokens: 424 + 10 });
  });

  it('adds up the dollars of priced calls and marks a run with an unpriced call', () => {
    const e = runEvents('alpha', 'r1');
    const priced = reduce(seed(), [
      e(started()),
      e(modelResponse('a', usage(10), 0.25)),
      e(modelResponse('b', usage(10), 0.5)),
    ]);
    expect(view(priced, 'alpha')).toMatchObject({ usd: 0.75, unpriced: false });
    const mixed = reduce(priced, [e(modelResponse('c', usage(10), null))]);
    expect(view(mixed, 'alpha')).toMatchObject({ usd: 0.75, unpriced: true });
    const next = reduce(mixed, [runEvents('alpha', 'r2')(started())]);
    expect(view(next, 'alpha')).toMatchObject({ usd: 0, unpriced: false });
  });

  it('keeps stopping (set by the UI) through a pause, until run.ended gives the outcome', () => {
    const e = runEvents('alpha', 'r1');
    let state = reduce(seed(), [e(started())]);
    state = markStopping(state, 'alpha');
    expect(view(state, 'alpha').status).toBe('stopping');
    state = reduce(state, [e({ type: 'run.paused' }), e({ type: 'run.resumed' })]);
    expect(view(state, 'alpha').status).toBe('stopping');
    state = reduce(state, [e(ended('stopped', 'stopped by a person'))]);
    expect(view(state, 'alpha').status).toBe('stopped');
  });

  it('does not mark an idle loop as stopping', () => {
    const state = seed();
    expect(markStopping(state, 'alpha')).toBe(state);
  });

  it('starts a new run from zero, and joins a run already in flight', () => {
    const first = runEvents('alpha', 'r1');
    let state = reduce(seed(), [first(started()), first(toolCall('run', {})), first(ended('failed'))]);
    const second = runEvents('alpha', 'r2');
    state = reduce(state, [second(started())]);
    expect(view(state, 'alpha')).toMatchObject({ status: 'running', run: 'r2', toolCalls: 0, tokens: 0 });

    // The UI opened mid-run: the first event it sees is an iteration, not run.started.
    const late = runEvents('beta', 'r9');
    late({ type: 'iteration.started' });
    late({ type: 'iteration.started' });
    state = reduce(state, [late({ type: 'iteration.started' })]);
    expect(view(state, 'beta')).toMatchObject({ status: 'running', run: 'r9', iteration: 3 });
  });

  it('adds a row for a loop that loops() did not list', () => {
    const e = runEvents('gamma', 'r1');
    const state = reduce(seed(), [e(started())]);
    expect(state.loops.map((loop) => loop.info.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(view(state, 'gamma').status).toBe('running');
  });

  it('lets a late event of an older run add to the trace but not change the status', () => {
    const r1 = runEvents('alpha', 'r1');
    const r2 = runEvents('alpha', 'r2');
    let state = reduce(seed(), [r1(started()), r2(started())]);
    state = reduce(state, [r1(ended('failed', 'old run failed'))]);
    expect(view(state, 'alpha')).toMatchObject({ status: 'running', run: 'r2' });
    expect(view(state, 'alpha').trace.at(-1)?.text).toBe('■ failed: old run failed');
  });
});

describe('reduce: identity and replay', () => {
  it('returns the same object when nothing visible changed', () => {
    const e = runEvents('alpha', 'r1');
    const state = reduce(seed(), [e(started())]);
    const quiet: LoopEvent[] = [
      e({ type: 'model.delta', text: 'Hel' }),
      e({ type: 'model.delta', text: 'lo' }),
      e({ type: 'context.assembled', parts: { task: 10 }, instructions: [] }),
      e({ type: 'grader.started', grader: 'tests', kind: 'command' }),
    ];
    expect(reduce(state, quiet)).toBe(state);
    expect(reduce(state, [])).toBe(state);
  });

  it('keeps the LoopView object of loops an event did not touch', () => {
    const state = seed();
    const next = reduce(state, [runEvents('alpha', 'r1')(started())]);
    expect(next).not.toBe(state);
    expect(next.version).toBe(state.version + 1);
    expect(view(next, 'beta')).toBe(view(state, 'beta'));
    expect(view(next, 'alpha')).not.toBe(view(state, 'alpha'));
  });

  it('ignores a replayed batch, and a replayed single event', () => {
    const e = runEvents('alpha', 'r1');
    const events = [
      e(started()),
      e({ type: 'iteration.started' }),
      e(toolCall('read_file', { path: 'a.ts' })),
      e(modelResponse('hello', usage(10))),
    ];
    const once = reduce(seed(), events);
    expect(reduce(once, events)).toBe(once);
    expect(reduce(once, [events[2]!])).toBe(once);
    expect(view(once, 'alpha')).toMatchObject({ toolCalls: 1, tokens: 10 });
    expect(view(once, 'alpha').trace).toHaveLength(4);
  });

  it('moves the selection within the list and not beyond it', () => {
    const state = seed();
    expect(selectLoop(state, 1).selected).toBe(1);
    expect(selectLoop(state, 5).selected).toBe(1);
    expect(selectLoop(state, -1)).toBe(state);
  });
});

describe('reduce: trace lines', () => {
  it('keeps only the last traceLimit lines per loop', () => {
    const e = runEvents('alpha', 'r1');
    const start = e(started());
    const calls = Array.from({ length: 12 }, (_, i) => e(toolCall('read_file', { n: i })));
    const state = reduce(seed(), [start, ...calls], 5);
    const trace = view(state, 'alpha').trace;
    expect(trace).toHaveLength(5);
    expect(trace.map((line) => line.text)).toEqual([7, 8, 9, 10, 11].map((n) => `→ read_file {"n":${n}}`));
  });

  it('writes one short line per kind of event', () => {
    const e = runEvents('alpha', 'r1');
    const state = reduce(seed(), [
      e(started()),
      e({ type: 'iteration.started' }),
      e(modelResponse('\n  First line.  \nSecond\nThird\nFourth\n')),
      e(toolCall('edit_file', { path: 'src/a.ts', old: 'x' })),
      e({
        type: 'tool.result',
        callId: 'c',
        name: 'run',
        ok: false,
        output: '\nexit 1: boom\nmore',
        durationMs: 3,
      }),
      e({
        type: 'grader.result',
        name: 'tests',
        kind: 'command',
        passed: false,
        feedback: '2 failed\n…',
        durationMs: 9,
      }),
      e({
        type: 'grader.result',
        name: 'rubric',
        kind: 'rubric',
        passed: true,
        score: 0.9,
        feedback: 'good',
        durationMs: 9,
      }),
      e({ type: 'instruction.received', text: 'try the other file', mode: 'now' }),
      e({ type: 'run.error', kind: 'provider', message: 'rate limited\nretry later' }),
      e(ended('verified', 'all graders passed')),
    ]);
    const lines = view(state, 'alpha').trace.map((line) => [line.kind, line.text, line.ok]);
    expect(lines).toEqual([
      ['run', '▶ run r1 started (manual) on loops/x/r1', undefined],
      ['run', '── iteration 1', undefined],
      ['model', 'First line.', undefined],
      ['model', 'Second', undefined],
      ['model', 'Third …', undefined],
      ['tool', '→ edit_file {"path":"src/a.ts","old":"x"}', undefined],
      ['result', '← error: exit 1: boom', false],
      ['grader', '✗ tests: 2 failed', false],
      ['grader', '✓ rubric 0.90: good', true],
      ['human', '! try the other file', undefined],
      ['error', 'provider: rate limited', false],
      ['run', '■ verified: all graders passed', true],
    ]);
  });
});
