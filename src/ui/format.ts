/** Small text formatters shared by the trace lines and the panes. */

export { compactJson, firstLine } from '../core/text.js';

/** 950 → "950", 45_230 → "45.2k", 2_100_000 → "2.1M". */
export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${trimZero((n / 1000).toFixed(1))}k`;
  return `${trimZero((n / 1_000_000).toFixed(1))}M`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/** A fixed-width bar of how much of a budget is used; empty when there is no cap. */
export function budgetBar(used: number, max: number | undefined, width: number): string {
  if (max === undefined || max <= 0) return ' '.repeat(width);
  const filled = Math.max(0, Math.min(width, Math.round((used / max) * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** Dollars as a person reads them; a run with unpriced calls says so rather than showing $0. */
export function formatUsd(usd: number, unpriced: boolean): string {
  if (unpriced && usd === 0) return 'unpriced';
  const amount = usd >= 1 ? usd.toFixed(2) : usd.toFixed(usd === 0 ? 2 : 3);
  return `$${amount}${unpriced ? '+?' : ''}`;
}

/** Fits text to a column: padded, or cut with an ellipsis. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** An ISO time as a person reads a schedule, in local time: "Thu 07:00". No clock needed. */
export function formatDue(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const hh = String(date.getHours()).padStart(2, '0');
  const mm = String(date.getMinutes()).padStart(2, '0');
  return `${DAYS[date.getDay()] ?? ''} ${hh}:${mm}`;
}
