/**
 * Progress signals of one run, iteration by iteration, from what the verifiers and git say (never from
 * how the model's text looks). Progress is verifier movement (test counts, grader scores, the metric's
 * best, an error signature not seen before in this run) or a committed tree not seen before in this
 * run. Repetition is the same tool calls again, an A,B,A,B cycle, a repeated error, or a return to an
 * earlier tree. The first observation of a grader is its baseline, not movement.
 */
import type { ProgressSignals } from '../events.js';

/** What one iteration left behind, read off its events. */
export interface IterationFacts {
  /** The committed tree at the iteration's end, and the run's base tree. */
  tree?: string;
  baseTree?: string;
  graders: Array<{
    name: string;
    passed: boolean;
    score?: number;
    tests?: { passed: number; failed: number };
  }>;
  /** The metric's best after this iteration, per metric grader. */
  metricBest: Array<{ grader: string; best: number | null }>;
  errorSignatures: string[];
  /** Each work model response's tool calls, as canonical `name input` strings. */
  toolCallsPerResponse: string[][];
}

export interface IterationReading {
  signals: ProgressSignals;
  progress: boolean;
  /** Any repetition signal this iteration. */
  repetition: boolean;
}

export class ProgressReader {
  private readonly trees = new Set<string>();
  private lastTree: string | undefined;
  private readonly bestTests = new Map<string, { passed: number; failed: number }>();
  private readonly bestScore = new Map<string, number>();
  private readonly metricBest = new Map<string, number | null>();
  private readonly errors = new Set<string>();
  private readonly callSets: string[] = [];
  private readonly treeSeq: string[] = [];

  read(facts: IterationFacts): IterationReading {
    const diff = this.readDiff(facts);
    const testsMoved = this.readTests(facts);
    const scoresMoved = this.readScores(facts);
    const metricBestMoved = this.readMetric(facts);
    let newErrors = 0;
    let repeatedErrors = 0;
    for (const signature of facts.errorSignatures) {
      if (this.errors.has(signature)) repeatedErrors += 1;
      else newErrors += 1;
      this.errors.add(signature);
    }
    const calls = canonicalMultiset(facts.toolCallsPerResponse.flat());
    const withinTurn = repeatsWithin(facts.toolCallsPerResponse);
    const repeatedToolCalls = withinTurn || this.callSets.includes(calls);
    this.callSets.push(calls);
    const cycle = isTwoCycle(this.callSets) || isTwoCycle(this.treeSeq);
    const signals: ProgressSignals = {
      newDiff: diff.newDiff,
      returnedToEarlierDiff: diff.returned,
      testsMoved,
      scoresMoved,
      metricBestMoved,
      newErrors,
      repeatedErrors,
      repeatedToolCalls,
      cycle,
    };
    const progress = diff.newDiff || testsMoved || scoresMoved || metricBestMoved || newErrors > 0;
    const repetition = repeatedToolCalls || cycle || repeatedErrors > 0 || diff.returned;
    return { signals, progress, repetition };
  }

  private readDiff(facts: IterationFacts): { newDiff: boolean; returned: boolean } {
    if (facts.baseTree !== undefined && this.trees.size === 0) this.trees.add(facts.baseTree);
    this.lastTree ??= facts.baseTree;
    const tree = facts.tree;
    if (tree === undefined) return { newDiff: false, returned: false };
    this.treeSeq.push(tree);
    const changed = tree !== this.lastTree;
    this.lastTree = tree;
    if (!changed) return { newDiff: false, returned: false };
    if (this.trees.has(tree)) return { newDiff: false, returned: true };
    this.trees.add(tree);
    return { newDiff: true, returned: false };
  }

  private readTests(facts: IterationFacts): boolean {
    let moved = false;
    for (const g of facts.graders) {
      if (!g.tests) continue;
      const best = this.bestTests.get(g.name);
      if (best && (g.tests.passed > best.passed || g.tests.failed < best.failed)) moved = true;
      this.bestTests.set(g.name, {
        passed: Math.max(best?.passed ?? g.tests.passed, g.tests.passed),
        failed: Math.min(best?.failed ?? g.tests.failed, g.tests.failed),
      });
    }
    return moved;
  }

  private readScores(facts: IterationFacts): boolean {
    let moved = false;
    for (const g of facts.graders) {
      const score = g.score ?? (g.passed ? 1 : 0);
      const best = this.bestScore.get(g.name);
      if (best !== undefined && score > best) moved = true;
      this.bestScore.set(g.name, Math.max(best ?? score, score));
    }
    return moved;
  }

  private readMetric(facts: IterationFacts): boolean {
    let moved = false;
    for (const m of facts.metricBest) {
      const had = this.metricBest.has(m.grader);
      const before = this.metricBest.get(m.grader);
      if (had && m.best !== null && m.best !== before) moved = true;
      this.metricBest.set(m.grader, m.best);
    }
    return moved;
  }
}

/** Order does not matter within a turn; multiplicity does. */
export function canonicalMultiset(calls: readonly string[]): string {
  return JSON.stringify([...calls].sort());
}

/** A tool call as `name input`, with the input's keys sorted so equal calls compare equal. */
export function canonicalCall(name: string, input: unknown): string {
  return `${name} ${stableJson(input)}`;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Two model responses of one turn asked for the same calls. */
function repeatsWithin(perResponse: readonly string[][]): boolean {
  const seen = new Set<string>();
  for (const calls of perResponse) {
    if (calls.length === 0) continue;
    const key = canonicalMultiset(calls);
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

/** The last four entries go A,B,A,B with A ≠ B. */
function isTwoCycle(seq: readonly string[]): boolean {
  const n = seq.length;
  if (n < 4) return false;
  const [a, b, c, d] = [seq[n - 4], seq[n - 3], seq[n - 2], seq[n - 1]];
  return a === c && b === d && a !== b;
}
