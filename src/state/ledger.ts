/**
 * The spend ledger's record: one model call, as kept in state/loops.json (`calls`). The index owns
 * the file (one writer); this module only says what a call record is and how it is read back.
 */
import { z } from 'zod';
import type { ModelStep, TokenUsage } from '../core/events.js';

export interface CallRecord {
  loop: string;
  run: string;
  iteration: number;
  /** Which step the call served: work, triage, summary (memory compression) or review (judging). */
  step: ModelStep;
  provider: string;
  model: string;
  usage: TokenUsage;
  /** USD; null when the model is not in the price table (unpriced, never $0). */
  usd: number | null;
  /** ISO-8601 time of the response. */
  time: string;
}

export interface CallFilter {
  loop?: string;
  /** YYYY-MM-DD (UTC): calls on or after that day. */
  since?: string;
}

export const usageSchema = z.object({
  input: z.number(),
  output: z.number(),
  cacheRead: z.number(),
  cacheWrite: z.number(),
  cacheWrite1h: z.number().optional(),
  reasoning: z.number().optional(),
});

export const callRecordSchema = z.object({
  loop: z.string(),
  run: z.string(),
  iteration: z.number(),
  step: z.enum(['work', 'triage', 'summary', 'review', 'analyst']),
  provider: z.string(),
  model: z.string(),
  usage: usageSchema,
  usd: z.number().nullable(),
  time: z.string(),
});

export function matchesFilter(call: CallRecord, filter: CallFilter): boolean {
  if (filter.loop !== undefined && call.loop !== filter.loop) return false;
  if (filter.since !== undefined && dayOf(call.time) < filter.since) return false;
  return true;
}

/** The UTC day of an ISO time: days in the ledger are UTC, so they do not move with the machine. */
export function dayOf(time: string): string {
  return time.slice(0, 10);
}
