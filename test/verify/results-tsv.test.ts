import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendResult, formatResultRow, readResults, resultsPath } from '../../src/state/results-tsv.js';
import { statePaths } from '../../src/state/paths.js';
import { tempDir } from '../tools/temp-dir.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('results'));
});
afterEach(() => cleanup());

const row = (iteration: number) => ({
  commit: 'abcdef0123456789',
  value: iteration / 10,
  status: 'keep' as const,
  description: 'tried\tsomething\nnew',
  run: 'run-1',
  iteration,
});

describe('results.tsv', () => {
  it('lives in state/<loop>/', () => {
    expect(resultsPath(statePaths(dir), 'bench')).toBe(path.join(dir, 'state', 'bench', 'results.tsv'));
  });

  it('writes one line per row: short commit, empty value for a crash, no tabs or breaks inside cells', () => {
    expect(formatResultRow(row(3))).toBe('abcdef0\t0.3\tkeep\ttried something new\trun-1\t3');
    expect(formatResultRow({ ...row(4), value: null, status: 'crash' })).toBe(
      'abcdef0\t\tcrash\ttried something new\trun-1\t4',
    );
  });

  it('has exactly one header and every row whole when many appends race on a new file', async () => {
    const file = path.join(dir, 'state', 'bench', 'results.tsv');
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendResult(file, row(i + 1))));
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('commit\t'))).toHaveLength(1);
    expect(lines[0]).toBe('commit\tvalue\tstatus\tdescription\trun\titeration');
    expect(lines).toHaveLength(41);
    const rows = await readResults(file);
    expect(rows.map((r) => r.iteration).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });

  it('reads back what it wrote, skipping a torn or mangled line', async () => {
    const file = path.join(dir, 'results.tsv');
    await appendResult(file, row(1));
    await writeFile(file, `${await readFile(file, 'utf8')}garbage line\nabc\t1\tmaybe\tx\tr\t2\n`);
    await appendResult(file, { ...row(3), value: null, status: 'crash' });
    expect(await readResults(file)).toEqual([
      {
        commit: 'abcdef0',
        value: 0.1,
        status: 'keep',
        description: 'tried something new',
        run: 'run-1',
        iteration: 1,
      },
      {
        commit: 'abcdef0',
        value: null,
        status: 'crash',
        description: 'tried something new',
        run: 'run-1',
        iteration: 3,
      },
    ]);
    expect(await readResults(path.join(dir, 'none.tsv'))).toEqual([]);
  });
});
