import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricGraderSchema } from '../../src/core/definition/schema.js';
import type { LoopEventBody } from '../../src/core/events.js';
import { createMetricGrader, GraderConfigError, readMetric } from '../../src/core/verify/metric.js';
import { readResults } from '../../src/state/results-tsv.js';
import { Worktrees, type Worktree } from '../../src/workspace/worktrees.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { gradeContext } from './context.js';

let repo: TestRepo;
let worktrees: Worktrees;
let tree: Worktree;
let results: string;

const BENCH = `import { readFileSync } from 'node:fs';
const score = readFileSync('score.txt', 'utf8').trim();
if (score === 'crash') { console.error('benchmark crashed'); process.exit(1); }
if (score === 'silent') { console.log('nothing to report'); process.exit(0); }
console.log('warming up: score=0');
console.log('score=' + score);
`;

beforeEach(async () => {
  repo = await makeRepo();
  await writeFile(path.join(repo.dir, 'bench.mjs'), BENCH);
  await writeFile(path.join(repo.dir, 'score.txt'), '0\n');
  await repo.git('add', '-A');
  await repo.git('commit', '-q', '-m', 'bench');
  worktrees = await Worktrees.open(repo.dir);
  tree = await worktrees.create({ loop: 'bench', run: 'r1', base: 'HEAD' });
  results = path.join(repo.dir, 'state', 'bench', 'results.tsv');
});
afterEach(() => repo.cleanup());

const metric = (metricConfig: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  metricGraderSchema.parse({
    metric: { command: 'node bench.mjs', pattern: 'score=([0-9.]+)', ...metricConfig },
    ...extra,
  });

/** One iteration: the agent's change (the score it will measure), committed as the run does, then graded. */
async function attempt(
  grader: ReturnType<typeof createMetricGrader>,
  iteration: number,
  score: string,
  events: LoopEventBody[],
) {
  await writeFile(path.join(tree.path, 'score.txt'), `${score}\n`);
  await writeFile(path.join(tree.path, `note-${iteration}.txt`), `attempt ${iteration}\n`);
  const commit = await worktrees.commitAll(tree.path, `iteration ${iteration}`);
  const ctx = gradeContext(tree.path, {
    baseSha: tree.baseSha,
    iteration,
    run: 'r1',
    worktrees,
    resultsPath: results,
    emit: (body) => events.push(body),
    transcript: [
      { role: 'assistant', content: [{ type: 'text', text: `Try\tscore ${score}\nmore detail` }] },
    ],
  });
  const verdict = await grader.grade(ctx);
  return { verdict, commit: commit ?? '' };
}

describe('the metric grader', () => {
  it('keeps strictly better attempts, resets the rest to the last kept commit, and logs every attempt', async () => {
    const grader = createMetricGrader(metric({ goal: 'maximize' }), 0);
    const events: LoopEventBody[] = [];

    const first = await attempt(grader, 1, '5', events);
    expect(first.verdict.passed).toBe(false); // the baseline alone does not pass without a target
    expect(first.verdict.feedback).toContain('metric 5: the baseline, kept');
    expect(await worktrees.headSha(tree.path)).toBe(first.commit);

    const worse = await attempt(grader, 2, '3', events);
    expect(worse.verdict.passed).toBe(false);
    expect(worse.verdict.feedback).toContain('not better than the best kept (5), discarded');
    expect(worse.verdict.feedback).toContain(`reset to commit ${first.commit.slice(0, 7)}`);
    expect(await worktrees.headSha(tree.path)).toBe(first.commit);
    expect(await readFile(path.join(tree.path, 'score.txt'), 'utf8')).toBe('5\n');
    await expect(readFile(path.join(tree.path, 'note-2.txt'), 'utf8')).rejects.toThrow();

    const equal = await attempt(grader, 3, '5', events);
    expect(equal.verdict.feedback).toContain('discarded'); // equal is not strictly better

    const better = await attempt(grader, 4, '7.5', events);
    expect(better.verdict.passed).toBe(true);
    expect(await worktrees.headSha(tree.path)).toBe(better.commit);

    const crash = await attempt(grader, 5, 'crash', events);
    expect(crash.verdict.passed).toBe(false);
    expect(crash.verdict.error).toBeUndefined();
    expect(crash.verdict.feedback).toContain('crash (exit code 1)');
    expect(crash.verdict.feedback).toContain('benchmark crashed');
    expect(await worktrees.headSha(tree.path)).toBe(better.commit);

    const silent = await attempt(grader, 6, 'silent', events);
    expect(silent.verdict.feedback).toContain('crash (no number matched the pattern');
    expect(await worktrees.headSha(tree.path)).toBe(better.commit);

    const rows = await readResults(results);
    expect(rows.map((r) => [r.commit, r.value, r.status, r.run, r.iteration])).toEqual([
      [first.commit.slice(0, 7), 5, 'keep', 'r1', 1],
      [worse.commit.slice(0, 7), 3, 'discard', 'r1', 2],
      [equal.commit.slice(0, 7), 5, 'discard', 'r1', 3],
      [better.commit.slice(0, 7), 7.5, 'keep', 'r1', 4],
      [crash.commit.slice(0, 7), null, 'crash', 'r1', 5],
      [silent.commit.slice(0, 7), null, 'crash', 'r1', 6],
    ]);
    expect(rows[0]?.description).toBe('Try score 5 more detail');
    const text = await readFile(results, 'utf8');
    expect(text.split('\n')[0]).toBe('commit\tvalue\tstatus\tdescription\trun\titeration');
    expect(text.split('\n')[5]).toMatch(/^[0-9a-f]{7}\t\tcrash\t/);

    const recorded = events.filter((e) => e.type === 'metric.recorded');
    expect(recorded.map((e) => (e.type === 'metric.recorded' ? [e.status, e.value, e.best] : []))).toEqual([
      ['keep', 5, 5],
      ['discard', 3, 5],
      ['discard', 5, 5],
      ['keep', 7.5, 7.5],
      ['crash', null, 7.5],
      ['crash', null, 7.5],
    ]);
    expect(recorded[0]).toMatchObject({ grader: 'metric: node bench.mjs', commit: first.commit });
  });

  it('minimizes, and passes once the best kept value reaches the target', async () => {
    const grader = createMetricGrader(metric({ goal: 'minimize', target: 8 }, { name: 'latency' }), 0);
    const events: LoopEventBody[] = [];
    const baseline = await attempt(grader, 1, '10', events);
    expect(baseline.verdict).toMatchObject({ name: 'latency', passed: false });
    expect(baseline.verdict.feedback).toContain('target ≤ 8');
    const worse = await attempt(grader, 2, '12', events);
    expect(worse.verdict.passed).toBe(false);
    const reached = await attempt(grader, 3, '8', events);
    expect(reached.verdict.passed).toBe(true);
  });

  it('resets a crash on the first attempt to where the run started', async () => {
    const grader = createMetricGrader(metric({}), 0);
    const crash = await attempt(grader, 1, 'crash', []);
    expect(crash.verdict.feedback).toContain(
      `reset to commit ${tree.baseSha.slice(0, 7)} (the start of the run)`,
    );
    expect(await worktrees.headSha(tree.path)).toBe(tree.baseSha);
  });

  it('rejects an invalid pattern when it is made, naming the field', () => {
    expect(() => createMetricGrader(metric({ pattern: 'score=(' }), 2)).toThrow(GraderConfigError);
    expect(() => createMetricGrader(metric({ pattern: 'score=(' }), 2)).toThrow('verify[2].metric.pattern');
  });

  it('reads the last number the pattern finds', () => {
    expect(readMetric('score=1\nscore=2.5\n', /score=([0-9.]+)/m)).toBe(2.5);
    expect(readMetric('val 0.97', /0\.\d+/m)).toBe(0.97);
    expect(readMetric('score=abc', /score=(\w+)/m)).toBeUndefined();
  });
});
