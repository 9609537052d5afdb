/**
 * The trace pane's lines for one engine event: the shared description (core/describe.ts), plus
 * what a person watching needs and the one-line logs do not: cache misses, metric values with their
 * keep/discard, why a grader failed (its feedback's first line), approvals and stall verdicts.
 */
import type { LoopEvent } from '../core/events.js';
import { describeEvent, type EventLine } from '../core/describe.js';
import { compactJson, firstLine } from './format.js';
import type { TraceLine } from './state.js';

const MAX_TEXT = 400;

type Line = Omit<TraceLine, 'seq' | 'run' | 'iteration'>;

function screenLines(event: LoopEvent): Line[] | undefined {
  switch (event.type) {
    case 'cache.missed':
      return [
        {
          kind: 'cache',
          text: `◌ cache miss on ${event.model} (${event.prefixTokens} prefix tokens): ${firstLine(event.reason)}`,
          ok: false,
        },
      ];
    case 'metric.recorded': {
      const value = event.value === null ? 'no value' : String(event.value);
      const best = event.best === null ? '' : ` (best ${event.best})`;
      return [
        {
          kind: 'metric',
          text: `◆ ${event.grader} = ${value}${best}: ${event.status} ${event.commit.slice(0, 8)}`,
          ok: event.status === 'keep',
        },
      ];
    }
    case 'grader.result': {
      const [base] = describeEvent(event);
      if (base === undefined) return undefined;
      // The counts or the command alone do not say why: the feedback's first line does.
      const why = event.passed || event.error !== undefined ? '' : reasonLine(event.feedback);
      const text = why !== '' && !base.text.includes(why) ? `${base.text} — ${why}` : base.text;
      return [{ kind: 'grader', text, ok: event.passed }];
    }
    case 'approval.requested':
      return [
        {
          kind: 'human',
          text: `? approval needed: ${event.tool} ${compactJson(event.input)} (rule ${event.rule})`,
        },
      ];
    case 'approval.resolved':
      return [
        {
          kind: 'human',
          text: event.approved
            ? `✓ approved (${event.by})`
            : `✗ denied (${event.by})${event.reason ? `: ${firstLine(event.reason)}` : ''}`,
          ok: event.approved,
        },
      ];
    case 'stall.detected':
      return [{ kind: 'run', text: `⚠ stalled (${event.action}): ${firstLine(event.reason)}`, ok: false }];
    case 'trigger.fired': {
      const why = event.reason !== '' ? ` — ${firstLine(event.reason)}` : '';
      return [
        {
          kind: 'trigger',
          text: `⚡ ${event.trigger} ${firstLine(event.detail)}: ${event.status}${why}`,
          ok: event.status === 'started' || event.status === 'queued',
        },
      ];
    }
    case 'triage.decided': {
      const cost = event.usd === null ? 'unpriced' : `$${event.usd.toFixed(4)}`;
      return [
        {
          kind: 'trigger',
          text: `⚖ triage (${event.model}, ${cost}): ${event.decision} — ${firstLine(event.reason)}`,
          ok: event.decision === 'run',
        },
      ];
    }
    case 'stall.cleared':
      return [{ kind: 'run', text: `✓ stall cleared: ${firstLine(event.reason)}` }];
    default:
      return undefined;
  }
}

/** The feedback's first line that says something: not the echoed command (`$ node --test`). */
function reasonLine(feedback: string): string {
  const line = feedback
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('$ '));
  return line ?? '';
}

export function traceLines(event: LoopEvent): TraceLine[] {
  const lines: Array<Line | EventLine> = screenLines(event) ?? describeEvent(event);
  return lines.map((l) => ({
    seq: event.seq,
    run: event.run,
    iteration: event.iteration,
    kind: l.kind,
    text: l.text.length > MAX_TEXT ? `${l.text.slice(0, MAX_TEXT - 1)}…` : l.text,
    ...(l.ok === undefined ? {} : { ok: l.ok }),
  }));
}
