/** Failure signatures from two recorded traces (test/hillclimb/fixtures): grouped, counted, cited, holdouts blind. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractSignatures, failingTests } from '../../src/hillclimb/signatures.js';
import { readTrace } from '../../src/state/trace.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.jsonl`, import.meta.url));
const RUNS = ['20261201-100000-aaaa', '20261201-110000-bbbb'];

async function signatures() {
  const traces = await Promise.all(RUNS.map(async (run) => ({ run, events: await readTrace(fixture(run)) })));
  return extractSignatures(traces, { holdouts: new Set(['secret suite']) });
}

describe('failure signatures', () => {
  it('groups like failures across runs, most frequent first, with the run and seq of each', async () => {
    const found = await signatures();
    // Seen twice (in both runs): first, ties broken by key.
    expect(found.slice(0, 2).map((s) => s.key)).toEqual([
      'criterion:holdout secret suite',
      'test:formatprice shows dollars',
    ]);
    const first = found[1];
    expect(first?.count).toBe(2);
    expect(found.slice(2).every((s) => s.count === 1)).toBe(true);
    expect(first?.evidence.map((e) => [e.run, e.seq])).toEqual([
      ['20261201-100000-aaaa', 4],
      ['20261201-110000-bbbb', 2],
    ]);
    expect(first?.evidence[0]?.excerpt).toContain("expected '$1.50' got '$150'");
    const keys = found.map((s) => s.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'test:subtotal multiplies quantity',
        'criterion:lists changes',
        'criterion:names the version',
        'tool_error:run',
        'repeated_error:tool_failure:run:enoent',
        'correction:use cents, not dollars',
        'correction:stopped by a person',
        'approval_denied:no pushes',
        'stall:the same diff twice',
        'budget:iterations',
        'criterion:holdout secret suite',
      ]),
    );
    const gap = found.find((s) => s.key === 'criterion:lists changes');
    expect(gap?.evidence[0]).toMatchObject({ seq: 5, excerpt: 'Lists changes: the entry lists nothing' });
  });

  it('keeps only pass or fail of a holdout: its output is in no signature', async () => {
    const found = await signatures();
    expect(JSON.stringify(found)).not.toContain('HOLDOUT-SECRET');
    const holdout = found.find((s) => s.key === 'criterion:holdout secret suite');
    expect(holdout?.count).toBe(2);
    expect(holdout?.evidence.map((e) => e.excerpt)).toEqual(['failed', 'failed']);
  });

  it('is deterministic: the same traces give the same signatures', async () => {
    expect(await signatures()).toEqual(await signatures());
  });

  it('reads failed test names from the common runners', () => {
    expect(
      failingTests(
        [
          'not ok 3 - adds tax # time=1ms',
          '✖ rounds half up (0.5ms)',
          ' FAIL src/a.test.ts > cart > empties',
          'FAILED tests/test_x.py::test_y - assert 1 == 2',
          '--- FAIL: TestParse (0.00s)',
          'ok 1 - passes',
        ].join('\n'),
      ),
    ).toEqual([
      'adds tax',
      'rounds half up',
      'src/a.test.ts > cart > empties',
      'tests/test_x.py::test_y',
      'TestParse',
    ]);
  });
});
