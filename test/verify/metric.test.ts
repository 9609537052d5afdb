import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricGraderSchema } from '../../src/core/definition/schema.js';
import type { LoopEventBody } from '../../src/core/events.js';
import type { Message } from '../../src/models/provider.js';
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
  await writeFile(path.join(repo.dir, 'score.txt'), '10\n'); // the original code measures 10
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
  const ctx = context(iteration, events, [
    { role: 'assistant', content: [{ type: 'text', text: `Try\tscore ${score}\nmore detail` }] },
  ]);
  const verdict = await grader.grade(ctx);
  return { verdict, commit: commit ?? '' };
}

function context(iteration: number, events: LoopEventBody[], transcript: Message[] = []) {
  return gradeContext(tree.path, {
    baseSha: tree.baseSha,
    iteration,
    run: path.basename(tree.path),
    worktrees,
    resultsPath: results,
    emit: (body) => events.push(body),
    transcript,
  });
}

describe('the metric grader', () => {
  it('measures the unmodified code first: with the original at 10, attempts of 5 and 7 are discarded and 12 kept', async () => {
    const grader = createMetricGrader(metric({ goal: 'maximize' }), 0);
    const events: LoopEventBody[] = [];

    const first = await attempt(grader, 1, '5', events);
    expect(first.verdict.passed).toBe(false);
    expect(first.verdict.feedback).toContain(
      'metric 5: not better than the best kept (10, the unmodified code), discarded',
    );
    expect(first.verdict.feedback).toContain(
      `reset to commit ${tree.baseSha.slice(0, 7)} (the start of the run)`,
    );
    expect(await worktrees.headSha(tree.path)).toBe(tree.baseSha);
    expect(await readFile(path.join(tree.path, 'score.txt'), 'utf8')).toBe('10\n');

    const second = await attempt(grader, 2, '7', events);
    expect(second.verdict.passed).toBe(false);
    expect(second.verdict.feedback).toContain(
      'not better than the best kept (10, the unmodified code), discarded',
    );
    await expect(readFile(path.join(tree.path, 'note-2.txt'), 'utf8')).rejects.toThrow();

    const third = await attempt(grader, 3, '12', events);
    expect(third.verdict.passed).toBe(true); // it beats the original: progress
    expect(third.verdict.feedback).toContain(
      'metric 12: better than the best so far (10, the unmodified code), kept',
    );
    expect(await worktrees.headSha(tree.path)).toBe(third.commit);

    const equal = await attempt(grader, 4, '12', events);
    expect(equal.verdict.feedback).toContain('not better than the best kept (12), discarded'); // equal is not better
    expect(equal.verdict.feedback).toContain(
      `reset to commit ${third.commit.slice(0, 7)} (the best kept attempt)`,
    );
    expect(await worktrees.headSha(tree.path)).toBe(third.commit);

    const crash = await attempt(grader, 5, 'crash', events);
    expect(crash.verdict.passed).toBe(false);
    expect(crash.verdict.error).toBeUndefined();
    expect(crash.verdict.feedback).toContain('crash (exit code 1)');
    expect(crash.verdict.feedback).toContain('benchmark crashed');
    expect(await worktrees.headSha(tree.path)).toBe(third.commit);

    const silent = await attempt(grader, 6, 'silent', events);
    expect(silent.verdict.feedback).toContain('crash (no number matched the pattern');
    expect(await worktrees.headSha(tree.path)).toBe(third.commit);

    const rows = await readResults(results);
    expect(rows.map((r) => [r.commit, r.value, r.status, r.run, r.iteration])).toEqual([
      [tree.baseSha.slice(0, 7), 10, 'baseline', 'r1', 0],
      [first.commit.slice(0, 7), 5, 'discard', 'r1', 1],
      [second.commit.slice(0, 7), 7, 'discard', 'r1', 2],
      [third.commit.slice(0, 7), 12, 'keep', 'r1', 3],
      [equal.commit.slice(0, 7), 12, 'discard', 'r1', 4],
      [crash.commit.slice(0, 7), null, 'crash', 'r1', 5],
      [silent.commit.slice(0, 7), null, 'crash', 'r1', 6],
    ]);
    expect(rows[0]?.description).toBe('the unmodified code');
    expect(rows[1]?.description).toBe('Try score 5 more detail');
    const text = await readFile(results, 'utf8');
    expect(text.split('\n')[0]).toBe('commit\tvalue\tstatus\tdescription\trun\titeration');
    expect(text.split('\n')[1]).toMatch(/^[0-9a-f]{7}\t10\tbaseline\t/);

    const recorded = events.filter((e) => e.type === 'metric.recorded');
    expect(recorded.map((e) => (e.type === 'metric.recorded' ? [e.status, e.value, e.best] : []))).toEqual([
      ['baseline', 10, 10],
      ['discard', 5, 10],
      ['discard', 7, 10],
      ['keep', 12, 12],
      ['discard', 12, 12],
      ['crash', null, 12],
      ['crash', null, 12],
    ]);
    expect(recorded[3]).toMatchObject({ grader: 'metric: node bench.mjs', commit: third.commit });
  });

  it('measures the baseline in prepare, before the first iteration, at the base commit', async () => {
    const grader = createMetricGrader(metric({}), 0);
    const events: LoopEventBody[] = [];
    await grader.prepare?.(context(0, events));
    expect(await readResults(results)).toMatchObject([{ value: 10, status: 'baseline', iteration: 0 }]);
    const first = await attempt(grader, 1, '11', events);
    expect(first.verdict.passed).toBe(true);
    // Measured once, not again at the first grade.
    expect((await readResults(results)).map((r) => r.status)).toEqual(['baseline', 'keep']);
  });

  it('graded first, it measures the base and comes back to the attempt with every file of it', async () => {
    const grader = createMetricGrader(metric({}), 0);
    const first = await attempt(grader, 1, '11', []);
    expect(await worktrees.headSha(tree.path)).toBe(first.commit);
    expect(await readFile(path.join(tree.path, 'note-1.txt'), 'utf8')).toBe('attempt 1\n');
    expect((await readResults(results)).map((r) => [r.value, r.status])).toEqual([
      [10, 'baseline'],
      [11, 'keep'],
    ]);
  });

  it('minimizes, and passes once the best kept value reaches the target', async () => {
    const grader = createMetricGrader(metric({ goal: 'minimize', target: 8 }, { name: 'latency' }), 0);
    const events: LoopEventBody[] = [];
    const worse = await attempt(grader, 1, '12', events);
    expect(worse.verdict).toMatchObject({ name: 'latency', passed: false });
    expect(worse.verdict.feedback).toContain('target ≤ 8');
    expect(worse.verdict.feedback).toContain('discarded');
    const closer = await attempt(grader, 2, '9', events);
    expect(closer.verdict.passed).toBe(false);
    expect(closer.verdict.feedback).toContain('The target is not reached yet (best 9)');
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

  it('when the original gives no number, records that and keeps the first number as the reference', async () => {
    await repo.git('checkout', '-q', '-b', 'broken');
    await writeFile(path.join(repo.dir, 'score.txt'), 'crash\n');
    await repo.git('commit', '-q', '-am', 'broken bench');
    tree = await worktrees.create({ loop: 'bench', run: 'r2', base: 'broken' });
    const grader = createMetricGrader(metric({}), 0);
    const first = await attempt(grader, 1, '3', []);
    expect(first.verdict.passed).toBe(false);
    expect(first.verdict.feedback).toContain(
      'metric 3: kept as the reference (the unmodified code gave no number)',
    );
    const second = await attempt(grader, 2, '4', []);
    expect(second.verdict.passed).toBe(true);
    expect((await readResults(results)).map((r) => [r.value, r.status, r.description])).toEqual([
      [null, 'baseline', 'the unmodified code: exit code 1'],
      [3, 'keep', 'Try score 3 more detail'],
      [4, 'keep', 'Try score 4 more detail'],
    ]);
  });

  it("a later run measures its own base afresh, not the earlier run's best", async () => {
    const earlier = createMetricGrader(metric({}), 0);
    await attempt(earlier, 1, '50', []);
    // The earlier run's 50 lives on its unmerged branch; the next run starts from the repository's 10.
    tree = await worktrees.create({ loop: 'bench', run: 'r2', base: 'HEAD' });
    const later = createMetricGrader(metric({}), 0);
    const first = await attempt(later, 1, '20', []);
    expect(first.verdict.passed).toBe(true);
    expect(first.verdict.feedback).toContain('better than the best so far (10, the unmodified code)');
    expect((await readResults(results)).map((r) => [r.value, r.status])).toEqual([
      [10, 'baseline'],
      [50, 'keep'],
      [10, 'baseline'],
      [20, 'keep'],
    ]);
  });

  it('rejects an invalid pattern in the schema, so validate finds it, and again when the grader is made', () => {
    expect(() => metric({ pattern: 'score=(' })).toThrow('not a valid regular expression');
    const cfg = metric({});
    cfg.metric.pattern = 'score=(';
    expect(() => createMetricGrader(cfg, 2)).toThrow(GraderConfigError);
    expect(() => createMetricGrader(cfg, 2)).toThrow('verify[2].metric.pattern');
  });

  it('reads the last number the pattern finds', () => {
    expect(readMetric('score=1\nscore=2.5\n', /score=([0-9.]+)/m)).toBe(2.5);
    expect(readMetric('val 0.97', /0\.\d+/m)).toBe(0.97);
    expect(readMetric('score=abc', /score=(\w+)/m)).toBeUndefined();
  });
});
