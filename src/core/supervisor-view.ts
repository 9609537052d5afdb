/**
 * The supervisor's view of its runs, kept from their events: a run's snapshot entry, and which loops
 * need a person and why. Pure functions over the supervisor's maps, so the screen's "needs you" marks
 * and the snapshot a late screen gets read the same.
 */
import type { LoopDefinition } from './definition/schema.js';
import type { NeedsPerson, PendingApproval, RunSnapshot } from './control.js';
import type { LoopEvent, Outcome } from './events.js';

/** What needsOf reads of a run in flight. */
export interface RunInView {
  id: string;
  view: RunSnapshot;
  gate: { pending(): PendingApproval[] };
}

/** Per loop, the most urgent reason it needs a person: approval, stall, pause, then its last outcome. */
export function needsOf(
  loops: string[],
  all: RunInView[],
  lastOutcome: ReadonlyMap<string, Outcome>,
  lastReason: ReadonlyMap<string, string>,
): NeedsPerson[] {
  const out: NeedsPerson[] = [];
  for (const name of loops) {
    const runs = all.filter((r) => r.view.loop === name);
    const asked = runs.flatMap((r) => r.gate.pending())[0];
    const stalled = runs.find((r) => r.view.stalled);
    const paused = runs.find((r) => r.view.status === 'paused');
    if (asked)
      out.push({
        loop: name,
        run: asked.run,
        reason: 'approval',
        detail: `${asked.matched} (rule ${asked.rule})`,
      });
    else if (stalled?.view.stalled)
      out.push({ loop: name, run: stalled.id, reason: 'stalled', detail: stalled.view.stalled.reason });
    else if (paused) out.push({ loop: name, run: paused.id, reason: 'paused', detail: 'paused' });
    else if (runs.length === 0) {
      const last = lastOutcome.get(name);
      if (last === 'budget' || last === 'failed' || last === 'stalled') {
        const detail = lastReason.get(name) ?? last;
        out.push({ loop: name, reason: last === 'stalled' ? 'stalled' : last, detail });
      }
    }
  }
  return out;
}

/** Keeps a run's snapshot view current from its own events. */
export function trackRun(view: RunSnapshot, event: LoopEvent): void {
  view.iteration = event.iteration;
  switch (event.type) {
    case 'run.paused':
      view.status = 'paused';
      return;
    case 'run.resumed':
      view.status = 'running';
      return;
    case 'approval.requested':
      if (event.timeoutMs !== 0) view.status = 'waiting';
      return;
    case 'approval.resolved':
      view.status = 'running';
      return;
    case 'stall.detected':
      view.stalled = { reason: event.reason, action: event.action };
      return;
    case 'stall.cleared':
      delete view.stalled;
      return;
    default:
      return;
  }
}

export function describeTrigger(def: LoopDefinition): string {
  const t = def.trigger;
  const parts: string[] = [];
  if (t.cron) parts.push(`cron ${t.cron}`);
  if (t.watch?.length) parts.push(`watch ${t.watch.join(',')}`);
  if (t.webhook) parts.push('webhook');
  if (t.goal) parts.push('goal');
  return parts.length ? parts.join(' · ') : 'manual';
}
