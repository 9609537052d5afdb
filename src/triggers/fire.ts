/**
 * What every trigger does when its event happens: send one `start` command with the event's context
 * and the loop's overlap rule, then record what the reply said as `trigger.fired` (source `trigger`),
 * so a start that was queued, dropped or refused is on the record as plainly as one that ran.
 */
import type { CommandReply } from '../core/control.js';
import type { JobContext } from '../core/jobs.js';
import type { TriggerContext } from '../core/trigger-context.js';

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
