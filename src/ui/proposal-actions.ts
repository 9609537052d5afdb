/**
 * What the proposals keys do (and `h` on the loops pane): every answer goes through the
 * ProposalsPort and comes back as a notice, so a refused accept is shown, never dropped.
 */
import type { ProposalAnswer, ProposalView } from '../core/proposals.js';
import type { ActionContext, Handler } from './actions.js';
import { pushOverlay, popOverlay } from './screen.js';

type ProposalBinding =
  | 'loops.improve'
  | 'proposal.prev'
  | 'proposal.next'
  | 'proposal.accept'
  | 'proposal.reject'
  | 'proposal.edit';

function answered(what: string, p: ProposalView, answer: ProposalAnswer): string {
  if (!answer.ok) return `not ${what}: ${answer.reason}`;
  const commit = answer.commit === undefined ? '' : ` (commit ${answer.commit.slice(0, 8)})`;
  return `${what} ${p.file} for ${p.loop}: ${answer.detail}${commit}`;
}

/** The selected proposal when it can still be answered, else a notice saying why not. */
function pendingSelected(ctx: ActionContext): ProposalView | undefined {
  const p = ctx.proposals.selected();
  if (p === undefined) {
    ctx.change({ notice: 'no proposal selected' });
    return undefined;
  }
  if (p.status !== 'pending') {
    ctx.change({ notice: `that proposal is ${p.status}: only a pending one can be answered` });
    return undefined;
  }
  return p;
}

function accept(ctx: ActionContext, p: ProposalView, diff?: string): void {
  ctx.change({ notice: `accepting ${p.file}…` });
  void ctx.proposals
    .answer((port) => port.accept(p.id, diff === undefined ? {} : { diff }))
    .then((answer) =>
      ctx.change({ notice: answered(diff === undefined ? 'accepted' : 'accepted (edited)', p, answer) }),
    );
}

/** Sends the rejection typed in the prompt; an empty reason rejects nothing. */
export function sendRejection(ctx: ActionContext, id: string, reason: string): void {
  ctx.change(popOverlay(ctx.screen()));
  const p = ctx.proposals.proposals().find((one) => one.id === id);
  if (p === undefined) return ctx.change({ notice: 'that proposal is gone' });
  if (reason === '') return ctx.change({ notice: 'not rejected: a reason is needed (the analyst reads it)' });
  void ctx.proposals
    .answer((port) => port.reject(id, reason))
    .then((answer) => ctx.change({ notice: answered('rejected', p, answer) }));
}

export const PROPOSAL_HANDLERS: Record<ProposalBinding, Handler> = {
  'loops.improve': (ctx) => {
    const state = ctx.store.getState();
    const name = state.loops[state.selected]?.info.name;
    if (name === undefined) return ctx.change({ notice: 'no loop to improve' });
    ctx.change({ notice: `asking hill-climbing about ${name}…` });
    void ctx.proposals
      .answer((port) => port.improve(name))
      .then((answer) =>
        ctx.change({
          notice: answer.ok
            ? `improving ${name}: ${answer.detail}`
            : `not improving ${name}: ${answer.reason}`,
        }),
      );
  },
  'proposal.prev': (ctx) => ctx.proposals.move(-1),
  'proposal.next': (ctx) => ctx.proposals.move(1),
  'proposal.accept': (ctx) => {
    const p = pendingSelected(ctx);
    if (p !== undefined) accept(ctx, p);
  },
  'proposal.reject': (ctx) => {
    const p = pendingSelected(ctx);
    if (p === undefined) return;
    ctx.change(
      pushOverlay(ctx.screen(), {
        kind: 'prompt',
        purpose: { type: 'reject', proposal: p.id, file: p.file },
        text: '',
      }),
    );
  },
  'proposal.edit': (ctx) => {
    const p = pendingSelected(ctx);
    if (p === undefined) return;
    const edit = ctx.edit;
    if (edit === undefined)
      return ctx.change({ notice: 'no editor on this screen: y accepts the diff as it is' });
    ctx.change({ editing: true });
    edit(p.diff, `${p.id}.diff`).then(
      (edited) => {
        ctx.change({ editing: false });
        if (edited === undefined || edited.trim() === '')
          return ctx.change({ notice: 'edit left empty or cancelled: nothing accepted' });
        accept(ctx, p, edited);
      },
      (err: unknown) =>
        ctx.change({
          editing: false,
          notice: `the editor failed, nothing accepted: ${err instanceof Error ? err.message : String(err)}`,
        }),
    );
  },
};
