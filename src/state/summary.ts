/** One run's summary for people: state/<loop>/runs/<run>.md. The trace has the detail; this is the verdict. */
import type { BudgetCap, Outcome, RunSpend, TokenUsage } from '../core/events.js';
import { writeFileAtomic } from './atomic.js';

export interface RunSummary {
  loop: string;
  run: string;
  trigger: string;
  outcome: Outcome;
  reason: string;
  startedAt: string;
  endedAt: string;
  iterations: number;
  toolCalls: number;
  usage: TokenUsage;
  spend: RunSpend;
  base: string;
  baseSha: string;
  branch: string;
  worktree: string;
  budget?: { cap: BudgetCap; limit: number; used: number };
  /** How the run's commands were confined, or that they were not. */
  sandbox?: string;
  graders: Array<{ iteration: number; name: string; passed: boolean; score?: number; feedback: string }>;
}

/** Feedback in the table is a glimpse; the full text is in the trace. */
const FEEDBACK_CELL_CHARS = 160;

const OUTCOME_WORDS: Record<Outcome, string> = {
  verified: 'verified',
  budget: 'budget reached (not verified)',
  stalled: 'stalled (not verified)',
  stopped: 'stopped by a person',
  failed: 'failed',
};

export function renderRunSummary(s: RunSummary): string {
  const rows: Array<[string, string]> = [
    ['outcome', `**${OUTCOME_WORDS[s.outcome]}**${s.reason ? `: ${s.reason}` : ''}`],
    ['trigger', s.trigger],
    ['started', s.startedAt],
    ['ended', `${s.endedAt}${durationSuffix(s.startedAt, s.endedAt)}`],
    ['iterations', String(s.iterations)],
    ['tool calls', String(s.toolCalls)],
    ['tokens', tokens(s.usage)],
    ['spend', spendText(s.spend)],
  ];
  if (s.budget) rows.push(['budget', budgetText(s.budget)]);
  rows.push(
    ['branch', code(s.branch)],
    ['base', `${code(s.base)} at ${code(s.baseSha.slice(0, 12))}`],
    ['worktree', code(s.worktree)],
  );
  if (s.sandbox !== undefined) rows.push(['sandbox', s.sandbox]);

  const lines = [
    `# ${s.loop}: run ${s.run}`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([key, value]) => `| ${key} | ${cell(value)} |`),
    '',
    '## Graders',
    '',
    ...gradersTable(s.graders),
    '',
  ];
  return lines.join('\n');
}

function gradersTable(graders: RunSummary['graders']): string[] {
  if (graders.length === 0) return ['No grader ran.'];
  const sorted = [...graders].sort((a, b) => a.iteration - b.iteration);
  return [
    '| iteration | grader | result | score | feedback |',
    '|---:|---|---|---:|---|',
    ...sorted.map(
      (g) =>
        `| ${g.iteration} | ${cell(g.name)} | ${g.passed ? 'pass' : 'fail'} | ${g.score === undefined ? '' : g.score.toFixed(2)} | ${cell(glimpse(g.feedback))} |`,
    ),
  ];
}

function tokens(u: TokenUsage): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  return `${n(u.input)} in, ${n(u.output)} out, ${n(u.cacheRead)} cache read, ${n(u.cacheWrite)} cache write`;
}

function spendText(s: RunSpend): string {
  const dollars = `$${s.usd.toFixed(4)}`;
  if (s.unpricedCalls === 0) return dollars;
  // Never let a missing price read as free.
  return `${dollars} + ${s.unpricedCalls} unpriced call${s.unpricedCalls === 1 ? '' : 's'}`;
}

function budgetText(b: NonNullable<RunSummary['budget']>): string {
  const unit: Record<BudgetCap, (v: number) => string> = {
    iterations: (v) => `${v} iterations`,
    tool_calls: (v) => `${v} tool calls`,
    usd: (v) => `$${v.toFixed(2)}`,
    tokens: (v) => `${v.toLocaleString('en-US')} tokens`,
    minutes: (v) => `${v.toFixed(1)} min`,
  };
  return `${b.cap}: used ${unit[b.cap](b.used)} of ${unit[b.cap](b.limit)}`;
}

function durationSuffix(startedAt: string, endedAt: string): string {
  const ms = Date.parse(endedAt) - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return '';
  const seconds = Math.round(ms / 1000);
  const text = seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return ` (${text})`;
}

function glimpse(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= FEEDBACK_CELL_CHARS ? flat : `${flat.slice(0, FEEDBACK_CELL_CHARS - 1)}…`;
}

function code(text: string): string {
  return text === '' ? '' : `\`${text.replace(/`/g, "'")}\``;
}

/** Table cells: one line, and a `|` must not end the cell. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

export async function writeRunSummary(file: string, s: RunSummary): Promise<void> {
  await writeFileAtomic(file, renderRunSummary(s));
}
