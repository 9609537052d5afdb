/**
 * The stall detector, a run observer. After each iteration it reads the progress signals
 * (signals.ts) and emits `stall.signals`; no progress over `stall.window` iterations together with a
 * repetition signal is a stall. The verdict has hysteresis: it is declared once the quiet stretch has
 * held for the whole window and cleared only by progress (or a person resuming a paused run), and
 * `stall.detected` / `stall.cleared` are emitted only on change, so it never flaps. At the safe point
 * it asks for its `on_stall` action once per detection.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { LoopEvent, LoopEventBody, ProgressSignals, StallAction } from '../events.js';
import type { RunObserver, SafePointVerdict } from '../run/observers.js';
import { canonicalCall, ProgressReader, type IterationFacts } from './signals.js';

export interface StallOptions {
  window: number;
  action: StallAction;
  /** Whether a person can resume a paused run; without one, `pause` ends the run `stalled`. */
  attended: boolean;
  /** How long a pause waits for a person before the run ends `stalled` (ms). */
  pauseTimeoutMs: number;
}

export class StallDetector implements RunObserver {
  private readonly reader = new ProgressReader();
  private facts: IterationFacts = emptyFacts();
  private quiet = 0;
  /** Repetition seen in each of the quiet iterations (most recent last). */
  private repeats: boolean[] = [];
  private stalled: { reason: string } | undefined;
  private pendingVerdict: SafePointVerdict | undefined;
  private pausedForStall = false;

  constructor(private readonly options: StallOptions) {}

  static forDefinition(def: LoopDefinition, attended: boolean): StallDetector {
    return new StallDetector({
      window: def.stall.window,
      action: def.stall.on_stall,
      attended,
      pauseTimeoutMs: Math.round(def.stall.pause_timeout_minutes * 60_000),
    });
  }

  observe(event: LoopEvent): LoopEventBody[] | void {
    switch (event.type) {
      case 'iteration.started':
        this.facts = emptyFacts();
        return;
      case 'model.response':
        if (event.step === 'work' && event.toolCalls.length > 0)
          this.facts.toolCallsPerResponse.push(event.toolCalls.map((c) => canonicalCall(c.name, c.input)));
        return;
      case 'grader.result':
        this.facts.graders.push({
          name: event.name,
          passed: event.passed,
          ...(event.score === undefined ? {} : { score: event.score }),
          ...(event.tests ? { tests: event.tests } : {}),
        });
        return;
      case 'metric.recorded':
        this.facts.metricBest.push({ grader: event.grader, best: event.best });
        return;
      case 'error.recorded':
        this.facts.errorSignatures.push(event.signature);
        return;
      case 'iteration.committed':
        this.facts.tree = event.tree;
        this.facts.baseTree = event.baseTree;
        return;
      case 'iteration.ended':
        return this.endIteration();
      case 'run.resumed':
        // A person looked at the stalled run and let it go on: the window starts again.
        if (!this.pausedForStall) return;
        this.pausedForStall = false;
        this.quiet = 0;
        this.repeats = [];
        if (!this.stalled) return;
        this.stalled = undefined;
        return [{ type: 'stall.cleared', reason: 'a person resumed the run' }];
      default:
        return;
    }
  }

  atSafePoint(): SafePointVerdict | undefined {
    const verdict = this.pendingVerdict;
    this.pendingVerdict = undefined;
    if (verdict?.kind === 'pause') this.pausedForStall = true;
    return verdict;
  }

  private endIteration(): LoopEventBody[] {
    const { window } = this.options;
    const reading = this.reader.read(this.facts);
    this.quiet = reading.progress ? 0 : this.quiet + 1;
    this.repeats = reading.progress ? [] : [...this.repeats, reading.repetition].slice(-window);
    const out: LoopEventBody[] = [
      {
        type: 'stall.signals',
        progress: reading.progress,
        signals: reading.signals,
        quiet: this.quiet,
        window,
      },
    ];
    if (this.stalled && reading.progress) {
      this.stalled = undefined;
      out.push({ type: 'stall.cleared', reason: `progress: ${describeProgress(reading.signals)}` });
    } else if (!this.stalled && this.quiet >= window && this.repeats.some(Boolean)) {
      const reason = describeStall(window, reading.signals, this.repeats);
      this.stalled = { reason };
      out.push({ type: 'stall.detected', reason, window, action: this.options.action });
      this.pendingVerdict = this.verdictFor(reason);
    }
    return out;
  }

  private verdictFor(reason: string): SafePointVerdict {
    switch (this.options.action) {
      case 'nudge':
        return { kind: 'nudge', note: nudgeNote(reason) };
      case 'pause':
        if (this.options.attended) return { kind: 'pause', reason, timeoutMs: this.options.pauseTimeoutMs };
        return {
          kind: 'end',
          outcome: 'stalled',
          reason: `${reason}; on_stall is pause and nobody can resume it here`,
        };
      case 'stop':
        return { kind: 'end', outcome: 'stalled', reason };
    }
  }
}

function emptyFacts(): IterationFacts {
  return { graders: [], metricBest: [], errorSignatures: [], toolCallsPerResponse: [] };
}

function describeProgress(s: ProgressSignals): string {
  const parts: string[] = [];
  if (s.newDiff) parts.push('a new diff');
  if (s.testsMoved) parts.push('test counts moved');
  if (s.scoresMoved) parts.push('a grader score rose');
  if (s.metricBestMoved) parts.push("the metric's best moved");
  if (s.newErrors > 0) parts.push(`${s.newErrors} new error(s)`);
  return parts.join(', ');
}

function describeStall(window: number, last: ProgressSignals, repeats: readonly boolean[]): string {
  const repeating: string[] = [];
  if (last.repeatedToolCalls) repeating.push('the same tool calls as before');
  if (last.cycle) repeating.push('an A,B,A,B cycle');
  if (last.repeatedErrors > 0) repeating.push('the same errors again');
  if (last.returnedToEarlierDiff) repeating.push('a return to an earlier diff');
  const what = repeating.length
    ? repeating.join(', ')
    : `repetition in ${repeats.filter(Boolean).length} of them`;
  return (
    `no progress in ${window} iteration(s): no new diff, test counts, grader scores, metric best or new ` +
    `errors; ${what}`
  );
}

function nudgeNote(reason: string): string {
  return [
    '## You are stalled',
    `loops sees ${reason}.`,
    'What you have tried is not moving the graders. Step back: re-read the failing output, question your ' +
      'assumption about the cause, and try a different approach rather than repeating the last one.',
  ].join('\n');
}
