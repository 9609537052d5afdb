/**
 * What started a run, recorded in its trace (`run.started.context`) and the run index, so a past task
 * can be run again (hill-climbing re-runs a loop's failing tasks from their base commit and context).
 * The agent sees it too, in its context; anything that came from outside (a webhook's body) is
 * untrusted event data and is always shown as such.
 */
export type TriggerKind =
  'manual' | 'cron' | 'watch' | 'webhook' | 'goal' | 'hillclimb' | 'replay' | 'resume';

export interface TriggerContext {
  kind: TriggerKind;
  /** One line for people: "cron 0 7 * * 1-5 (due 07:00)", "3 files changed", "push to main". */
  detail: string;
  /** ISO time the event happened (the cron time that was due, the last change, the delivery). */
  at: string;
  /** watch: the changed files, relative to the repository root. */
  files?: string[];
  /** webhook: what arrived. Untrusted: the agent sees it as data, never as instructions. */
  payload?: {
    /** The hook's name (POST /hooks/NAME). */
    hook: string;
    /** X-GitHub-Delivery or X-Delivery-Id, when the sender gave one. */
    delivery?: string;
    /** X-GitHub-Event, when given. */
    event?: string;
    /** The body, parsed when it was JSON, else the text; clipped to a size the context can hold. */
    body: unknown;
    truncated?: boolean;
  };
  /** goal: which run of the goal this is, counting from 1, and the goal's first run. */
  goal?: { attempt: number; first: string };
  /** replay/hillclimb: the run whose task this repeats. */
  replayOf?: string;
  /** triage: the triage model's decision that let this event through. */
  triage?: { reason: string };
}

/** The manual start's context, used when a start names none. */
export function manualContext(trigger = 'manual'): TriggerContext {
  return { kind: 'manual', detail: trigger, at: new Date().toISOString() };
}
