/**
 * Failure signatures: a deterministic pass over a loop's recent traces that finds what keeps going
 * wrong (failing criteria and their gaps, failing tests, tool errors, repeated errors, stalls, budget
 * endings, denied approvals, a person's corrections) and groups like failures under one key, with the
 * trace lines (run, seq) that show them. No model reads the traces here: the same traces always give
 * the same signatures, so the analyst's input can be tested and compared.
 *
 * A holdout grader's output never leaves this file: of a holdout only pass or fail is kept, so no
 * holdout finding can reach the analyst, and from it a skill file.
 */
import type { FailureSignature } from '../core/proposals.js';
import type { LoopEvent } from '../core/events.js';
import type { StatePaths } from '../state/paths.js';
import type { RunRecord, StateIndex } from '../state/index-db.js';
import { readTrace } from '../state/trace.js';

export interface RunTrace {
  run: string;
  events: readonly LoopEvent[];
}

/** Evidence kept per signature, and characters per excerpt: enough to cite, little enough to read. */
const MAX_EVIDENCE = 6;
const EXCERPT_CHARS = 240;

type Kind = FailureSignature['kind'];

class Grouper {
  private readonly groups = new Map<string, FailureSignature & { runs: Set<string> }>();

  add(kind: Kind, what: string, summary: string, run: string, seq: number, excerpt: string): void {
    const key = `${kind}:${normalise(what)}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { key, kind, summary, count: 0, evidence: [], runs: new Set() };
      this.groups.set(key, group);
    }
    group.count += 1;
    group.runs.add(run);
    if (group.evidence.length < MAX_EVIDENCE) group.evidence.push({ run, seq, excerpt: clip(excerpt) });
  }

  /** Most frequent first, then by key, so the order is stable. */
  result(): FailureSignature[] {
    return [...this.groups.values()]
      .sort((a, b) => b.count - a.count || b.runs.size - a.runs.size || a.key.localeCompare(b.key))
      .map(({ runs: _runs, ...signature }) => signature);
  }
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase().slice(0, 160);
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= EXCERPT_CHARS ? flat : `${flat.slice(0, EXCERPT_CHARS - 1)}…`;
}

/** A rubric judge's or checker's feedback: one "- criterion: gap" line per failing criterion. */
function failingCriteria(feedback: string): Array<{ name: string; gap: string }> {
  const found: Array<{ name: string; gap: string }> = [];
  for (const line of feedback.split('\n')) {
    const m = /^- ([^:]{1,120}): (.+)$/.exec(line.trim());
    if (m?.[1] && m[2]) found.push({ name: m[1].trim(), gap: m[2].trim() });
  }
  return found;
}

/** Names of failed tests in a command grader's failure excerpt (node:test, TAP, vitest/jest, pytest). */
export function failingTests(output: string): string[] {
  const names = new Set<string>();
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    const m =
      /^not ok \d+ - (.+?)(?:\s+#.*)?$/.exec(line) ??
      /^✖ (.+?)(?: \(\d+(?:\.\d+)?m?s\))?$/.exec(line) ??
      /^(?:×|✗|FAIL) (.+? > .+?)(?: \d+m?s)?$/.exec(line) ??
      /^FAILED (\S+::\S+)/.exec(line) ??
      /^--- FAIL: (\S+)/.exec(line);
    if (m?.[1] && !/^failing tests?:?$/i.test(m[1])) names.add(m[1].trim());
  }
  return [...names];
}

export interface SignatureOptions {
  /** Names of the loop's holdout graders: only whether they passed is read. */
  holdouts: ReadonlySet<string>;
}

export function extractSignatures(
  traces: readonly RunTrace[],
  options: SignatureOptions,
): FailureSignature[] {
  const groups = new Grouper();
  for (const { run, events } of traces) {
    // A tool's error is told by its result; the call says which tool it was.
    for (const event of events) collect(groups, run, event, options);
  }
  return groups.result();
}

function collect(groups: Grouper, run: string, event: LoopEvent, options: SignatureOptions): void {
  const seq = event.seq;
  switch (event.type) {
    case 'grader.result': {
      if (event.passed) return;
      if (options.holdouts.has(event.name)) {
        // Pass or fail only: the holdout's feedback and error stay out of every signature.
        groups.add(
          'criterion',
          `holdout ${event.name}`,
          `holdout grader "${event.name}" failed`,
          run,
          seq,
          'failed',
        );
        return;
      }
      if (event.error !== undefined) {
        groups.add(
          'criterion',
          `${event.name} error`,
          `grader "${event.name}" could not run`,
          run,
          seq,
          event.error,
        );
        return;
      }
      if (event.kind === 'command') {
        const tests = failingTests(event.feedback);
        if (tests.length === 0)
          groups.add('test', event.name, `"${event.name}" fails`, run, seq, event.feedback);
        for (const test of tests)
          groups.add(
            'test',
            test,
            `test "${test}" fails (${event.name})`,
            run,
            seq,
            excerptAround(event.feedback, test),
          );
        return;
      }
      const criteria = failingCriteria(event.feedback);
      if (criteria.length === 0)
        groups.add('criterion', event.name, `"${event.name}" is not satisfied`, run, seq, event.feedback);
      for (const c of criteria)
        groups.add('criterion', c.name, `criterion "${c.name}" fails`, run, seq, `${c.name}: ${c.gap}`);
      return;
    }
    case 'tool.result':
      if (!event.ok)
        groups.add('tool_error', event.name, `tool ${event.name} errors`, run, seq, event.output);
      return;
    case 'error.recorded':
      if (event.repeated)
        groups.add(
          'repeated_error',
          event.signature,
          `${event.class.replace('_', ' ')} repeats: ${clip(event.message).slice(0, 80)}`,
          run,
          seq,
          `${event.message} (seen ${event.count} times)`,
        );
      return;
    case 'stall.detected':
      groups.add('stall', event.reason, `stalled: ${event.reason}`, run, seq, event.reason);
      return;
    case 'run.ended':
      if (event.outcome === 'budget') {
        const cap = event.budget?.cap ?? 'a cap';
        groups.add('budget', cap, `runs end on their ${cap} budget`, run, seq, event.reason);
      } else if (event.outcome === 'stopped' && /person/i.test(event.reason)) {
        groups.add('correction', 'stopped by a person', 'a person stopped the run', run, seq, event.reason);
      }
      return;
    case 'approval.resolved':
      if (!event.approved && event.by !== 'stop')
        groups.add(
          'approval_denied',
          event.reason || event.callId,
          'a person denied a tool call',
          run,
          seq,
          event.reason,
        );
      return;
    case 'instruction.received':
      groups.add('correction', event.text, 'a person corrected the agent', run, seq, event.text);
      return;
    case 'review.decided':
      if (event.decision === 'discarded')
        groups.add(
          'correction',
          'discarded by a person',
          "a person discarded the run's work",
          run,
          seq,
          event.detail,
        );
      return;
    default:
      return;
  }
}

/** The test's own line and the two after it (the assertion), from a failure excerpt. */
function excerptAround(output: string, test: string): string {
  const lines = output.split('\n');
  const at = lines.findIndex((line) => line.includes(test));
  return at < 0 ? test : lines.slice(at, at + 3).join(' ');
}

/** Runs the analysis reads: the loop's most recent finished runs, newest first. */
export function recentRuns(index: StateIndex, loop: string, count: number): RunRecord[] {
  return index
    .runs(loop)
    .filter((r) => r.status !== 'running')
    .reverse()
    .slice(0, count);
}

/** The traces of those runs (a run whose trace is gone is skipped, not an error). */
export async function readTraces(
  paths: StatePaths,
  loop: string,
  runs: readonly RunRecord[],
): Promise<RunTrace[]> {
  const traces: RunTrace[] = [];
  for (const record of runs) {
    const events = await readTrace(paths.trace(loop, record.run));
    if (events.length > 0) traces.push({ run: record.run, events });
  }
  return traces;
}
