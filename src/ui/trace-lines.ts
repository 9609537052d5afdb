/** The trace pane's lines for one engine event: the shared description, stamped and clipped. */
import type { LoopEvent } from '../core/events.js';
import { describeEvent } from '../core/describe.js';
import type { TraceLine } from './state.js';

const MAX_TEXT = 400;

export function traceLines(event: LoopEvent): TraceLine[] {
  return describeEvent(event).map((l) => ({
    seq: event.seq,
    run: event.run,
    iteration: event.iteration,
    kind: l.kind,
    text: l.text.length > MAX_TEXT ? `${l.text.slice(0, MAX_TEXT - 1)}…` : l.text,
    ...(l.ok === undefined ? {} : { ok: l.ok }),
  }));
}
