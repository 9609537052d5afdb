/**
 * The daemon's log: one line per event worth a line (a run started or ended, a trigger fired, an
 * approval asked or answered, a stall, a command's reply, a reload), none for the rest (model text,
 * tool calls: those are in each run's trace). Lines start with the time, so a journal reads in order.
 */
import type { LoopEvent } from '../core/events.js';
import { firstLine } from '../core/text.js';

export function daemonLogLine(event: LoopEvent): string | undefined {
  const text = describe(event);
  return text === undefined ? undefined : `${event.time} ${text}`;
}

function describe(event: LoopEvent): string | undefined {
  const loop = event.loop;
  switch (event.type) {
    case 'run.started':
      return `${loop}: run ${event.run} started (${event.trigger}) on ${event.branch}`;
    case 'run.ended': {
      const usd = `$${event.spend.usd.toFixed(4)}${event.spend.unpricedCalls ? ` + ${event.spend.unpricedCalls} unpriced` : ''}`;
      return `${loop}: run ${event.run} ended ${event.outcome}: ${firstLine(event.reason)} (${event.iterations} iterations, ${usd})`;
    }
    case 'run.error':
      return `${loop}: run ${event.run} error (${event.kind}): ${firstLine(event.message)}`;
    case 'approval.requested': {
      const wait =
        event.timeoutMs === null ? 'until answered' : `up to ${Math.round(event.timeoutMs / 1000)} s`;
      return `${loop}: approval ${event.approvalId} asked for ${event.tool} "${firstLine(event.matched)}" (rule ${event.rule}); waits ${wait}: loops approve ${event.approvalId}`;
    }
    case 'approval.resolved':
      return `${loop}: approval ${event.approvalId} ${event.approved ? 'approved' : 'denied'} (${event.by})${event.approved ? '' : `: ${firstLine(event.reason)}`}`;
    case 'stall.detected':
      return `${loop}: run ${event.run} stalled (${event.action}): ${firstLine(event.reason)}`;
    case 'stall.cleared':
      return `${loop}: run ${event.run} no longer stalled: ${firstLine(event.reason)}`;
    case 'run.paused':
      return `${loop}: run ${event.run} paused`;
    case 'run.resumed':
      return `${loop}: run ${event.run} resumed`;
    case 'command.replied':
      return `${loop || '-'}: ${event.command} ${event.status}: ${firstLine(event.reason)}`;
    case 'loops.changed': {
      const parts = [
        ...event.changed.map((n) => `reloaded ${n}`),
        ...event.added.map((n) => `added ${n}`),
        ...event.removed.map((n) => `removed ${n}`),
      ];
      return parts.join(', ');
    }
    case 'trigger.fired':
      return `${loop}: ${event.trigger} fired (${firstLine(event.detail)}): ${event.status}: ${firstLine(event.reason)}`;
    case 'triage.decided':
      return `${loop}: triage says ${event.decision}: ${firstLine(event.reason)}`;
    case 'fleet.status':
      return `fleet ${event.state} (${event.cap} ${event.used.toFixed(2)}/${event.limit}): ${firstLine(event.reason)}`;
    case 'notify.failed':
      return `notification about ${event.about} failed after ${event.attempts} attempts: ${firstLine(event.reason)}`;
    default:
      return undefined;
  }
}
