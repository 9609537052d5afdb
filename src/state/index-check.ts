/**
 * The shape check of state/loops.json's run records. Every open reads the whole index (2,000 records
 * at 100k past calls) and `loops list` and `loops spend` open it on each call, so this is a plain
 * loop over the records: a schema library spent tens of milliseconds here, more than reading and
 * parsing the file. It says which field is wrong (`runs.3.status: ...`), like the schema did.
 *
 * Records keep keys this version does not know (a newer loops may add fields), as the index does.
 */

/** Every status a run record may have (index-summary.ts checks its copies against the same). */
export const RUN_STATUSES: ReadonlySet<string> = new Set([
  'running',
  'verified',
  'budget',
  'stalled',
  'stopped',
  'failed',
]);
const REQUIRED_STRINGS = ['loop', 'run', 'trigger', 'startedAt', 'branch', 'worktree'] as const;
const OPTIONAL_STRINGS = ['endedAt', 'reason', 'resumedFrom', 'baseSha'] as const;
const USAGE_NUMBERS = ['input', 'output', 'cacheRead', 'cacheWrite'] as const;
const USAGE_OPTIONAL = ['cacheWrite1h', 'reasoning'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** What is wrong with one run record (`field: detail`), or undefined when it is a run record. */
export function checkRunRecord(raw: unknown): string | undefined {
  if (!isRecord(raw)) return `expected an object, received ${kind(raw)}`;
  for (const key of REQUIRED_STRINGS)
    if (typeof raw[key] !== 'string') return `${key}: expected a string, received ${kind(raw[key])}`;
  if (!RUN_STATUSES.has(raw.status as string))
    return `status: expected one of ${[...RUN_STATUSES].join(', ')}, received ${JSON.stringify(raw.status) ?? 'nothing'}`;
  if (typeof raw.iterations !== 'number') return `iterations: expected a number, received ${kind(raw.iterations)}`;
  for (const key of OPTIONAL_STRINGS) {
    const value = raw[key];
    if (value !== undefined && typeof value !== 'string') return `${key}: expected a string, received ${kind(value)}`;
  }
  if (raw.usage !== undefined) {
    const usage = raw.usage;
    if (!isRecord(usage)) return `usage: expected an object, received ${kind(usage)}`;
    for (const key of USAGE_NUMBERS)
      if (typeof usage[key] !== 'number') return `usage.${key}: expected a number, received ${kind(usage[key])}`;
    for (const key of USAGE_OPTIONAL) {
      const value = usage[key];
      if (value !== undefined && typeof value !== 'number')
        return `usage.${key}: expected a number, received ${kind(value)}`;
    }
  }
  // Its shape is checked where it is read (a replay), and a newer loops may add fields.
  if (raw.context !== undefined && (typeof raw.context !== 'object' || raw.context === null))
    return `context: expected an object, received ${kind(raw.context)}`;
  return undefined;
}

/** What is wrong with the `runs` list (`runs.N.field: detail`), or undefined. */
export function checkRuns(runs: unknown): string | undefined {
  if (!Array.isArray(runs)) return `runs: expected an array, received ${kind(runs)}`;
  for (let i = 0; i < runs.length; i++) {
    const problem = checkRunRecord(runs[i]);
    if (problem) return `runs.${i}${problem.startsWith('expected') ? ': ' : '.'}${problem}`;
  }
  return undefined;
}
