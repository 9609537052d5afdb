import { describe, expect, it } from 'vitest';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { StallDetector } from '../../src/core/stall/detector.js';
import type { StallAction } from '../../src/core/events.js';

/** One recorded iteration: the committed tree, the grader's test counts, the tool calls, the errors. */
interface Step {
  tree: string;
  tests?: { passed: number; failed: number };
  score?: number;
  metricBest?: number | null;
  calls?: string[];
  errors?: string[];
}

let seq = 0;
function event(iteration: number, body: LoopEventBody): LoopEvent {
  seq += 1;
  return {
    loop: 'l',
    run: 'r',
    iteration,
    time: new Date(0).toISOString(),
    seq,
    span: 's',
    ...body,
  };
}

/** Replays a series through the detector; per iteration, what it emitted and what it asked for. */
function replay(steps: Step[], window = 3, action: StallAction = 'stop', attended = false) {
  const detector = new StallDetector({ window, action, attended, pauseTimeoutMs: 60_000 });
  return steps.map((step, i) => {
    const n = i + 1;
    const out: LoopEventBody[] = [];
    const feed = (body: LoopEventBody): void => {
      out.push(...(detector.observe(event(n, body)) ?? []));
    };
    feed({ type: 'iteration.started' });
    feed({
      type: 'model.response',
      provider: 'p',
      model: 'm',
      step: 'work',
      text: `iteration ${n} says something different every time ${Math.random()}`,
      toolCalls: (step.calls ?? []).map((c, k) => ({ id: `t${n}-${k}`, name: 'run', input: { command: c } })),
      stopReason: 'tool_use',
      usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
      durationMs: 1,
    });
    for (const signature of step.errors ?? [])
      feed({
        type: 'error.recorded',
        class: 'grader_failure',
        signature,
        message: signature,
        repeated: false,
        count: 1,
      });
    feed({
      type: 'grader.result',
      name: 'tests',
      kind: 'command',
      passed: false,
      feedback: '',
      durationMs: 1,
      ...(step.tests ? { tests: step.tests } : {}),
      ...(step.score === undefined ? {} : { score: step.score }),
    });
    if (step.metricBest !== undefined)
      feed({
        type: 'metric.recorded',
        grader: 'speed',
        value: 1,
        status: 'discard',
        commit: 'c',
        best: step.metricBest,
      });
    feed({ type: 'iteration.committed', commit: `c${n}`, tree: step.tree, baseTree: 'base' });
    feed({ type: 'iteration.ended', verified: false, passed: [], failed: ['tests'] });
    const verdict = detector.atSafePoint();
    return { out, verdict, types: out.map((b) => b.type) };
  });
}

const detectedAt = (r: ReturnType<typeof replay>) =>
  r.flatMap((x, i) => (x.types.includes('stall.detected') ? [i + 1] : []));
const clearedAt = (r: ReturnType<typeof replay>) =>
  r.flatMap((x, i) => (x.types.includes('stall.cleared') ? [i + 1] : []));

describe('stall verdicts on recorded iteration series', () => {
  it('stalls once the same failing attempt has held for the window, and says so once', () => {
    const same = { tree: 't1', tests: { passed: 3, failed: 2 }, calls: ['npm test'], errors: ['E1'] };
    const r = replay([same, same, same, same, same, same]);
    // Iteration 1 is progress (a new diff, a new error); 2, 3, 4 are quiet and repeat: declared at 4.
    expect(detectedAt(r)).toEqual([4]);
    expect(clearedAt(r)).toEqual([]);
    const signals = r[1]?.out.find((b) => b.type === 'stall.signals');
    expect(signals).toMatchObject({
      progress: false,
      quiet: 1,
      signals: { newDiff: false, repeatedToolCalls: true, repeatedErrors: 1 },
    });
    expect(r[3]?.verdict).toMatchObject({ kind: 'end', outcome: 'stalled' });
    expect(r[4]?.verdict).toBeUndefined();
  });

  it('never stalls a run that makes slow progress (one test more every window)', () => {
    const steps: Step[] = [];
    for (let i = 0; i < 12; i += 1) {
      const passed = 1 + Math.floor(i / 3);
      steps.push({
        tree: i % 3 === 0 ? `t${i}` : `t${i - (i % 3)}`,
        tests: { passed, failed: 10 - passed },
        calls: ['npm test'],
        errors: ['E'],
      });
    }
    const r = replay(steps, 3);
    expect(detectedAt(r)).toEqual([]);
    // Some iterations really were quiet and repetitive: the detector saw them and still held back.
    expect(
      r.some((x) =>
        x.out.some((b) => b.type === 'stall.signals' && !b.progress && b.signals.repeatedToolCalls),
      ),
    ).toBe(true);
  });

  it('recovers: progress after a stall clears it once, and a later stall is declared again', () => {
    const stuck = { tree: 't1', tests: { passed: 1, failed: 4 }, calls: ['npm test'] };
    const r = replay(
      [
        stuck,
        stuck,
        stuck,
        stuck,
        stuck,
        { tree: 't2', tests: { passed: 2, failed: 3 }, calls: ['npm test'] },
        { tree: 't2', tests: { passed: 2, failed: 3 }, calls: ['npm test'] },
        { tree: 't2', tests: { passed: 2, failed: 3 }, calls: ['npm test'] },
        { tree: 't2', tests: { passed: 2, failed: 3 }, calls: ['npm test'] },
      ],
      3,
      'nudge',
    );
    expect(detectedAt(r)).toEqual([4, 9]);
    expect(clearedAt(r)).toEqual([6]);
    const cleared = r[5]?.out.find((b) => b.type === 'stall.cleared');
    expect(cleared?.type === 'stall.cleared' && cleared.reason).toContain('test counts moved');
    const verdict = r[3]?.verdict;
    expect(verdict?.kind === 'nudge' && verdict.note).toContain('no progress in 3');
  });

  it('sees an A,B,A,B cycle between two diffs as no progress, and stalls on it', () => {
    const a = { tree: 'tA', calls: ['edit a'] };
    const b = { tree: 'tB', calls: ['edit b'] };
    const r = replay([a, b, a, b, a, b]);
    const third = r[2]?.out.find((x) => x.type === 'stall.signals');
    expect(third).toMatchObject({
      progress: false,
      signals: { newDiff: false, returnedToEarlierDiff: true },
    });
    const fourth = r[3]?.out.find((x) => x.type === 'stall.signals');
    expect(fourth).toMatchObject({ signals: { cycle: true } });
    // 1 and 2 are new diffs; 3, 4, 5 return to them: declared at 5 and never flaps after.
    expect(detectedAt(r)).toEqual([5]);
    expect(clearedAt(r)).toEqual([]);
  });

  it('does not stall quiet iterations without any repetition signal', () => {
    const r = replay([
      { tree: 't1', calls: ['a'] },
      { tree: 't1', calls: ['b'] },
      { tree: 't1', calls: ['c'] },
      { tree: 't1', calls: ['d'] },
      { tree: 't1', calls: ['e'] },
    ]);
    expect(detectedAt(r)).toEqual([]);
    expect(r[4]?.out.find((b) => b.type === 'stall.signals')).toMatchObject({ quiet: 4 });
  });

  it("counts a rising score, the metric's best and new error signatures as progress", () => {
    const r = replay([
      { tree: 't1', score: 0.2, metricBest: 10, calls: ['x'] },
      { tree: 't1', score: 0.5, metricBest: 10, calls: ['x'] },
      { tree: 't1', score: 0.5, metricBest: 12, calls: ['x'] },
      { tree: 't1', score: 0.5, metricBest: 12, calls: ['x'], errors: ['new one'] },
    ]);
    const progress = r.map((x) => x.out.find((b) => b.type === 'stall.signals'));
    expect(progress[1]).toMatchObject({ progress: true, signals: { scoresMoved: true } });
    expect(progress[2]).toMatchObject({ progress: true, signals: { metricBestMoved: true } });
    expect(progress[3]).toMatchObject({ progress: true, signals: { newErrors: 1 } });
  });

  it('asks an attended run to pause, and a person resuming it clears the stall', () => {
    const same = { tree: 't1', calls: ['npm test'] };
    const detector = new StallDetector({
      window: 2,
      action: 'pause',
      attended: true,
      pauseTimeoutMs: 60_000,
    });
    let n = 0;
    const run = (): LoopEventBody[] => {
      n += 1;
      const out: LoopEventBody[] = [];
      for (const body of [
        { type: 'iteration.started' },
        {
          type: 'model.response',
          provider: 'p',
          model: 'm',
          step: 'work',
          text: '',
          toolCalls: [{ id: 'x', name: 'run', input: { command: 'npm test' } }],
          stopReason: 'tool_use',
          usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          durationMs: 0,
        },
        { type: 'iteration.committed', commit: 'c', tree: same.tree, baseTree: 'base' },
        { type: 'iteration.ended', verified: false, passed: [], failed: [] },
      ] as LoopEventBody[])
        out.push(...(detector.observe(event(n, body)) ?? []));
      return out;
    };
    run();
    run();
    expect(run().map((b) => b.type)).toContain('stall.detected');
    expect(detector.atSafePoint()).toMatchObject({ kind: 'pause' });
    expect(detector.observe(event(n, { type: 'run.paused' }))).toBeUndefined();
    expect(detector.observe(event(n, { type: 'run.resumed' }))).toEqual([
      { type: 'stall.cleared', reason: 'a person resumed the run' },
    ]);
  });
});
