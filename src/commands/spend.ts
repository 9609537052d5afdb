/**
 * `loops spend [NAME] [--loop NAME] [--since YYYY-MM-DD] [--json]`: what the loops spent, from the
 * ledger's per-loop rollups (state/<loop>/spend/totals.json), so it costs the same at 10 or 10^6
 * past calls. Read-only and lock-free, so it works while a supervisor runs: rollups and the index are
 * replaced by atomic renames, and calls appended since a rollup was written are folded in, in memory.
 * An index from before the per-run ledger (not yet migrated by a supervisor) is read as it is.
 */
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import type { TokenUsage } from '../core/events.js';
import {
  summariseRollups,
  summariseSpend,
  type SpendReport,
  type SpendTotals,
} from '../core/budget/ledger.js';
import { StateIndex } from '../state/index-db.js';
import { matchesFilter } from '../state/ledger.js';
import { SpendLedger } from '../state/spend-ledger.js';
import { statePaths } from '../state/paths.js';
import type { CommonOptions } from './index.js';

export interface SpendOptions extends CommonOptions {
  loop?: string | undefined;
  since?: string | undefined;
}

export async function spend(args: string[], options: SpendOptions): Promise<number> {
  const [positional, extra] = args;
  if (
    extra !== undefined ||
    (positional !== undefined && options.loop !== undefined && positional !== options.loop)
  ) {
    process.stderr.write(
      'loops spend: name one loop at most, e.g. loops spend fix-tests --since 2026-11-01\n',
    );
    return EXIT_BAD_DEFINITION;
  }
  const loop = options.loop ?? positional;
  const since = options.since;
  if (since !== undefined && !isDay(since)) {
    process.stderr.write(`loops spend: --since wants a day as YYYY-MM-DD (UTC), not "${since}"\n`);
    return EXIT_BAD_DEFINITION;
  }
  const filter = { ...(loop === undefined ? {} : { loop }), ...(since === undefined ? {} : { since }) };
  const paths = statePaths(options.repo);
  const index = await StateIndex.openForReading(paths.index);
  const runs = index?.outcomes(loop) ?? [];
  const legacy = index?.legacyCalls() ?? [];
  const report =
    legacy.length > 0
      ? summariseSpend(
          legacy.filter((c) => matchesFilter(c, filter)),
          runs,
          filter,
        )
      : summariseRollups(await SpendLedger.open(paths, { writable: false }).allRollups(loop), runs, filter);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderSpend(report));
  return 0;
}

function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/** The report as aligned tables: totals, then per loop, model, day and step (and run, for one loop). */
export function renderSpend(report: SpendReport): string {
  const scope = `${report.loop === undefined ? 'all loops' : `loop ${report.loop}`}, ${
    report.since === undefined ? 'all time' : `since ${report.since} (UTC)`
  }`;
  if (report.total.calls === 0) return `No model calls recorded (${scope}).\n`;
  const out = [`Spend: ${scope}`, ''];
  out.push(...table(['', ...TOTAL_HEADERS], [['total', ...totalCells(report.total)]]), '');
  out.push(
    ...table(
      ['loop', ...TOTAL_HEADERS, 'runs', 'verified', '$/verified'],
      report.loops.map((l) => [
        l.loop,
        ...totalCells(l),
        String(l.runs),
        String(l.verifiedRuns),
        l.usdPerVerifiedRun === null
          ? '-'
          : `${formatUsd(l.usdPerVerifiedRun)}${l.unpricedCalls > 0 ? '+' : ''}`,
      ]),
    ),
    '',
  );
  out.push(
    ...table(
      ['model', ...TOTAL_HEADERS],
      report.models.map((m) => [`${m.provider}/${m.model}`, ...totalCells(m)]),
    ),
    '',
  );
  out.push(
    ...table(
      ['day', ...TOTAL_HEADERS],
      report.days.map((d) => [d.day, ...totalCells(d)]),
    ),
    '',
  );
  out.push(
    ...table(
      ['step', ...TOTAL_HEADERS],
      report.steps.map((s) => [s.step, ...totalCells(s)]),
    ),
    '',
  );
  if (report.hillclimb !== undefined) {
    const { analyst, evaluation } = report.hillclimb;
    // In the totals above (the evaluation's calls under their own steps), never in runs or $/verified.
    out.push(
      ...table(
        ['hill-climb', ...TOTAL_HEADERS],
        [
          ['analyst', ...totalCells(analyst)],
          ['evaluation', ...totalCells(evaluation)],
        ],
      ),
      '',
    );
  }
  if (report.loop !== undefined) {
    out.push(
      ...table(
        ['run', 'outcome', ...TOTAL_HEADERS],
        report.runs.map((r) => [r.run, r.status ?? '?', ...totalCells(r)]),
      ),
      '',
    );
  }
  if (report.total.unpricedCalls > 0) {
    out.push(
      `Unpriced: ${report.total.unpricedCalls} call(s) used models not in the price table; their tokens are`,
      'counted above but not their cost, so dollar figures marked + are lower bounds.',
      '',
    );
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const TOTAL_HEADERS = ['calls', 'in', 'out', 'cache read', 'cache write', 'usd'];

function totalCells(t: SpendTotals): string[] {
  const u: TokenUsage = t.usage;
  return [
    String(t.calls),
    count(u.input),
    count(u.output),
    count(u.cacheRead),
    count(u.cacheWrite),
    usdCell(t),
  ];
}

/** Dollars of the priced calls; "unpriced" when none could be priced, "+" when some could not. */
export function usdCell(t: SpendTotals): string {
  if (t.calls > 0 && t.unpricedCalls === t.calls) return 'unpriced';
  return `${formatUsd(t.usd)}${t.unpricedCalls > 0 ? ` + ${t.unpricedCalls} unpriced` : ''}`;
}

/** Cents, or four decimals below a dollar so small loops do not read $0.00. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 1 ? 4 : 2)}`;
}

// One formatter for every cell: toLocaleString makes a new one per call, which dominated the tables.
const COUNT = new Intl.NumberFormat('en-US');

function count(n: number): string {
  return COUNT.format(n);
}

/** Left-aligned first column, right-aligned numbers. */
function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
