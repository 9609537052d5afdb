/**
 * state/<loop>/results.tsv: the keep/discard ledger of metric loops, one row per attempt, in the
 * columns of autoresearch's results.tsv plus the run and iteration. Rows are only ever appended, each
 * as one whole line in one write, so concurrent appenders never interleave within a line.
 */
import { link, mkdir, appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempPathFor } from './atomic.js';
import { errnoCode, isNotFound } from './errno.js';
import type { StatePaths } from './paths.js';

export const RESULT_COLUMNS = ['commit', 'value', 'status', 'description', 'run', 'iteration'] as const;

/** `baseline`: the unmodified code, measured before the run's first iteration. */
export type ResultStatus = 'baseline' | 'keep' | 'discard' | 'crash';

export interface ResultRow {
  /** The attempt's commit, abbreviated to 7 characters as autoresearch does. */
  commit: string;
  /** null for a crash (written as an empty cell). */
  value: number | null;
  status: ResultStatus;
  description: string;
  run: string;
  iteration: number;
}

const HEADER = `${RESULT_COLUMNS.join('\t')}\n`;
const DESCRIPTION_CHARS = 200;

export function resultsPath(paths: StatePaths, loop: string): string {
  return path.join(paths.loopDir(loop), 'results.tsv');
}

/** A cell holds no tab or line break, whatever the text was. */
function cell(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ').trim();
}

export function formatResultRow(row: ResultRow): string {
  return [
    cell(row.commit).slice(0, 7),
    row.value === null ? '' : String(row.value),
    row.status,
    cell(row.description).slice(0, DESCRIPTION_CHARS),
    cell(row.run),
    String(row.iteration),
  ].join('\t');
}

/**
 * Creates the file with its header when it does not exist (a hard link of a complete temp file, so
 * no appender ever sees a file without its header), then appends the row.
 */
export async function appendResult(file: string, row: ResultRow): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = tempPathFor(file);
  try {
    await writeFile(temp, HEADER, { flag: 'wx' });
    await link(temp, file).catch((error: unknown) => {
      if (errnoCode(error) !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temp, { force: true });
  }
  await appendFile(file, `${formatResultRow(row)}\n`, 'utf8');
}

function isStatus(text: string | undefined): text is ResultStatus {
  return text === 'baseline' || text === 'keep' || text === 'discard' || text === 'crash';
}

/** Every well-formed row, in file order; a torn or hand-mangled line is skipped, never fatal. */
export async function readResults(file: string): Promise<ResultRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const rows: ResultRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [commit, value, status, description, run, iteration] = line.split('\t');
    if (commit === undefined || !isStatus(status) || iteration === undefined) continue;
    const number = value === undefined || value === '' ? null : Number(value);
    if (number !== null && Number.isNaN(number)) continue;
    rows.push({
      commit,
      value: number,
      status,
      description: description ?? '',
      run: run ?? '',
      iteration: Number(iteration),
    });
  }
  return rows;
}
