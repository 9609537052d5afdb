/**
 * What is worth telling someone outside the screen, and how it reads: a JSON body that Slack-style
 * incoming webhooks (Slack, Mattermost, and the many that copy them) accept, `text` for people plus
 * the same facts as fields for programs.
 */
import type { LoopEvent, RunSpend } from '../core/events.js';
import type { NotifyKind } from '../fleet/file.js';

export interface Notice {
  kind: NotifyKind;
  /** A short label for notify.sent / notify.failed ("outcome of fix-tests"); never the URL. */
  about: string;
  loop: string;
  body: NoticeBody;
}

export interface NoticeBody {
  text: string;
  kind: NotifyKind;
  loop: string;
  reason: string;
  run?: string;
  outcome?: string;
  spend?: RunSpend;
  branch?: string;
}

const MAX_TEXT = 2_000;
const MAX_FIELD = 500;

/** The notice an event calls for, or undefined when it calls for none. */
export function noticeFor(event: LoopEvent): Notice | undefined {
  switch (event.type) {
    case 'run.ended': {
      const spend = `$${event.spend.usd.toFixed(2)}${event.spend.unpricedCalls ? ` + ${event.spend.unpricedCalls} unpriced call(s)` : ''}`;
      const branch = event.branch ? ` · branch ${event.branch}` : '';
      return notice('outcome', `outcome of ${event.loop}`, event.loop, {
        text: `${event.loop}: ${event.outcome}: ${event.reason} · ${spend}${branch}`,
        run: event.run,
        outcome: event.outcome,
        reason: event.reason,
        spend: event.spend,
        ...(event.branch ? { branch: event.branch } : {}),
      });
    }
    case 'approval.requested':
      // Headless runs deny at once (timeout 0): nobody is asked, so nobody needs to come.
      if (event.timeoutMs === 0) return undefined;
      return notice('needs_person', `approval for ${event.loop}`, event.loop, {
        text: `${event.loop} needs a person: ${event.tool} waits for approval (rule ${event.rule}, matched "${event.matched}")`,
        run: event.run,
        reason: `approval: ${event.tool} matched ${event.rule}`,
      });
    case 'stall.detected':
      if (event.action !== 'pause') return undefined;
      return notice('needs_person', `stall pause of ${event.loop}`, event.loop, {
        text: `${event.loop} is paused, it looks stalled: ${event.reason}`,
        run: event.run,
        reason: event.reason,
      });
    case 'fleet.status':
      // The 100% warning comes with a `waiting` that says it all: one message, not two.
      if (event.state === 'released' || (event.state === 'warning' && event.used >= event.limit))
        return undefined;
      return notice('fleet', `fleet ${event.state}`, event.loop, {
        text: `loops fleet ${event.state === 'waiting' ? 'is waiting' : 'warning'}: ${event.reason}`,
        reason: event.reason,
      });
    default:
      return undefined;
  }
}

function notice(
  kind: NotifyKind,
  about: string,
  loop: string,
  fields: Omit<NoticeBody, 'kind' | 'loop'>,
): Notice {
  return {
    kind,
    about,
    loop,
    body: {
      ...fields,
      kind,
      loop,
      text: slackText(fields.text, MAX_TEXT),
      reason: plain(fields.reason, MAX_FIELD),
    },
  };
}

/**
 * Slack reads <, > and & as markup (links, mentions such as <!channel>): escaped, an agent's words
 * cannot ping a channel. Control characters are dropped and the text is kept short.
 */
function slackText(text: string, max: number): string {
  return plain(text, max).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function plain(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
