/**
 * What a person decided during an agent turn, kept for MEMORY.md's human corrections (PRODUCT.md:
 * every override and approval decision is one): an instruction given with `!`, and each approval a
 * person answered. The iteration moves the lines into memory when its turn ends. Answers made by no
 * person (headless, a timeout, a stop) are policy, not corrections, and stay in the trace only.
 */
import type { LoopEvent } from '../events.js';
import type { RunObserver } from './observers.js';

/** How much of a matched command or path a correction quotes. */
const QUOTE_MAX = 200;

export function correctionsLog(lines: string[]): RunObserver {
  const asked = new Map<string, { tool: string; matched: string }>();
  return {
    observe(event: LoopEvent) {
      if (event.type === 'instruction.received' && event.mode === 'now') lines.push(event.text);
      if (event.type === 'approval.requested')
        asked.set(event.approvalId, { tool: event.tool, matched: event.matched });
      if (event.type === 'approval.resolved') {
        const request = asked.get(event.approvalId);
        asked.delete(event.approvalId);
        if (event.by !== 'person') return;
        const what = request ? `${request.tool} \`${quote(request.matched)}\`` : 'a tool call';
        lines.push(
          event.approved ? `a person approved ${what}` : `a person denied ${what}${denial(event.reason)}`,
        );
      }
    },
  };
}

/** The person's reason, without the words the model is told it with. */
function denial(reason: string): string {
  const own = reason.replace(/^denied by a person:?\s*/i, '').trim();
  return own ? `: ${own}` : '';
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_MAX ? `${flat.slice(0, QUOTE_MAX)}…` : flat;
}
