/**
 * What every trigger does when its event happens: send one `start` command with the event's context
 * and the loop's overlap rule, then record what the reply said as `trigger.fired` (source `trigger`),
 * so a start that was queued, dropped or refused is on the record as plainly as one that ran.
 */
import type { CommandReply } from '../core/control.js';
import type { JobContext } from '../core/jobs.js';
import type { TriggerContext } from '../core/trigger-context.js';
import type { TriageOptions } from './triage.js';

export interface FireOptions {
  overlap: 'queue' | 'drop';
  /** The label in lists ("cron", "goal 2/10"); default: the context's kind. */
  label?: string;
}

export function fireStart(
  ctx: JobContext,
  loop: string,
  context: TriggerContext,
  options: FireOptions,
): CommandReply {
  const reply = ctx.send({
    type: 'start',
    loop,
    context,
    overlap: options.overlap,
    ...(options.label === undefined ? {} : { trigger: options.label }),
  });
  ctx.emit('trigger', loop, {
    type: 'trigger.fired',
    trigger: context.kind,
    detail: context.detail,
    status: firedStatus(reply),
    reason: reply.reason,
    command: reply.id,
    ...(reply.run === undefined ? {} : { target: reply.run }),
  });
  return reply;
}

/**
 * A cron or watch event: through the loop's triage first when it has `trigger.triage` (one cheap call
 * decides; triage.ts emits the event's one `trigger.fired`), else straight to `fireStart`. The triage
 * module (and the model SDKs behind it) is loaded only when a loop triages, so `loops list`, which
 * reads cron's schedules, stays light.
 */
export function fireEvent(
  ctx: JobContext,
  loop: string,
  context: TriggerContext,
  options: FireOptions & { triage?: TriageOptions },
): Promise<void> {
  const def = ctx.definitions().find((d) => d.name === loop);
  if (def?.trigger.triage === undefined) {
    fireStart(ctx, loop, context, options);
    return Promise.resolve();
  }
  return import('./triage.js')
    .then(({ triageThenStart }) =>
      triageThenStart(ctx, def, context, {
        ...(options.label === undefined ? {} : { trigger: options.label }),
        ...(options.triage ? { triage: options.triage } : {}),
      }),
    )
    .then(
      () => undefined,
      (error: unknown) => ctx.reportError(new Error(`triage for ${loop}: ${messageOf(error)}`)),
    );
}

/** The overlap rule letting an event go is a skip, not a failure; other refusals stay refusals. */
function firedStatus(reply: CommandReply): 'started' | 'queued' | 'refused' | 'skipped' {
  if (reply.status === 'started' || reply.status === 'queued') return reply.status;
  if (reply.status === 'refused' && reply.reason.startsWith('dropped:')) return 'skipped';
  return reply.ok ? 'started' : 'refused';
}

/** Message text of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
