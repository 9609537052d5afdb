/**
 * What every binding does. A `Record<BindingId, Handler>`: adding a binding to the keymap without
 * a handler here does not compile. Handlers reach the engine only through the SupervisorPort and
 * git only through the ReviewPort.
 */
import type { CommandReply, SupervisorPort } from '../core/control.js';
import type { BindingId, PaneId } from './keymap.js';
import { PANES } from './panes/registry.js';
import { PROPOSAL_HANDLERS } from './proposal-actions.js';
import type { ProposalsModel } from './proposals-model.js';
import { reviewRows } from './panes/review.js';
import { traceRows } from './panes/trace.js';
import type { ReviewModel } from './review-model.js';
import { finishedRun } from './review-port.js';
import { popOverlay, pushOverlay, topOverlay, type ScreenState } from './screen.js';
import type { LoopView, PendingApproval } from './state.js';
import type { UiStore } from './store.js';

export interface ActionContext {
  store: UiStore;
  port: SupervisorPort;
  review: ReviewModel;
  proposals: ProposalsModel;
  /** Opens text in the person's editor; resolves with what they saved (undefined: cancelled). */
  edit?: (text: string, name: string) => Promise<string | undefined>;
  /** The screen state as of this key (a ref: two keys in one chunk see each other). */
  screen: () => ScreenState;
  change: (patch: Partial<ScreenState>) => void;
  /** Rows per pane in the current layout (scroll bounds). */
  heights: Readonly<Record<string, number>>;
}

export type Handler = (ctx: ActionContext) => void;

function selected(ctx: ActionContext): { view: LoopView | undefined; name: string } {
  const state = ctx.store.getState();
  const view = state.loops[state.selected];
  return { view, name: view?.info.name ?? '' };
}

/** Every start gets an answer on screen: started, queued behind the limit, or refused and why. */
export function replyNotice(name: string, reply: CommandReply): string {
  if (reply.status === 'queued') return `${name} queued: ${reply.reason}`;
  return reply.ok ? `${name}: ${reply.reason}` : `${name} not started: ${reply.reason}`;
}

/** The oldest pending approval of any loop, the put-off ones last. */
export function nextApproval(ctx: ActionContext, includeSettled: boolean): PendingApproval | undefined {
  const settled = new Set(ctx.screen().settledApprovals);
  const all = ctx.store.getState().loops.flatMap((view) => view.approvals);
  return all.find((a) => !settled.has(a.approvalId)) ?? (includeSettled ? all[0] : undefined);
}

function settle(ctx: ActionContext, approvalId: string): Partial<ScreenState> {
  const settled = ctx.screen().settledApprovals;
  return { settledApprovals: settled.includes(approvalId) ? settled : [...settled, approvalId].slice(-200) };
}

function scrollBy(ctx: ActionContext, pane: PaneId, step: number, max: number): void {
  const current = ctx.screen().scroll[pane] ?? 0;
  const next = Math.max(0, Math.min(max, current + step));
  if (next !== current) ctx.change({ scroll: { ...ctx.screen().scroll, [pane]: next } });
}

function reviewFiles(ctx: ActionContext): { lines: number; files: number[] } | undefined {
  const ref = finishedRun(selected(ctx).view);
  const entry = ref === undefined ? undefined : ctx.review.peek(ref.branch);
  if (entry?.state !== 'ready') return undefined;
  return { lines: entry.diff.lines.length, files: entry.diff.files.map((f) => f.line) };
}

function moveSelection(ctx: ActionContext, step: number): void {
  const state = ctx.store.getState();
  ctx.store.select(state.selected + step);
  ctx.change({ scroll: {} });
}

function approvalAnswer(ctx: ActionContext, approve: boolean): void {
  const top = topOverlay(ctx.screen());
  if (top?.kind !== 'approval') return;
  const { approval } = top;
  const pending = ctx.store
    .getState()
    .loops.some((view) => view.approvals.some((a) => a.approvalId === approval.approvalId));
  if (!pending) {
    ctx.change({ ...popOverlay(ctx.screen()), notice: `that approval was already answered` });
    return;
  }
  if (!approve) {
    ctx.change(pushOverlay(ctx.screen(), { kind: 'prompt', purpose: { type: 'deny', approval }, text: '' }));
    return;
  }
  const reply = ctx.port.send({
    type: 'approve',
    loop: approval.loop,
    run: approval.run,
    approvalId: approval.approvalId,
  });
  ctx.change({
    ...popOverlay(ctx.screen()),
    ...settle(ctx, approval.approvalId),
    notice: reply.ok ? `approved ${approval.tool} for ${approval.loop}` : `not approved: ${reply.reason}`,
  });
}

/** Sends the denial typed in the prompt; closes the prompt and the approval it came from. */
export function sendDenial(ctx: ActionContext, approval: PendingApproval, reason: string): void {
  const text = reason === '' ? 'denied by a person' : reason;
  const reply = ctx.port.send({
    type: 'deny',
    loop: approval.loop,
    run: approval.run,
    approvalId: approval.approvalId,
    reason: text,
  });
  const screen = ctx.screen();
  const overlays = screen.overlays.filter(
    (o) => !(o.kind === 'approval' && o.approval.approvalId === approval.approvalId) && o.kind !== 'prompt',
  );
  ctx.change({
    overlays,
    ...settle(ctx, approval.approvalId),
    notice: reply.ok
      ? `denied ${approval.tool} for ${approval.loop}: ${text}`
      : `not denied: ${reply.reason}`,
  });
}

function merge(ctx: ActionContext): void {
  const { view, name } = selected(ctx);
  const ref = finishedRun(view);
  if (ref === undefined) return ctx.change({ notice: `${name || 'nothing'} has no finished run to merge` });
  const port = ctx.review.port;
  if (port === undefined) return ctx.change({ notice: 'merging is not available on this screen' });
  ctx.change({ notice: `merging ${ref.branch}…` });
  port.merge(ref).then(
    (result) => {
      if (result.ok) ctx.review.settle(ref.branch, result.message);
      ctx.change({ notice: result.message });
    },
    (err: unknown) =>
      ctx.change({ notice: `merge failed: ${err instanceof Error ? err.message : String(err)}` }),
  );
}

function discard(ctx: ActionContext): void {
  const { view, name } = selected(ctx);
  const ref = finishedRun(view);
  if (ref === undefined) return ctx.change({ notice: `${name || 'nothing'} has no finished run to discard` });
  const port = ctx.review.port;
  if (port === undefined) return ctx.change({ notice: 'discarding is not available on this screen' });
  port.discardCost(ref).then(
    (cost) => {
      const lost = [
        cost.merged ? 'it is merged' : `${cost.commits} unmerged commit${cost.commits === 1 ? '' : 's'}`,
        cost.dirty > 0 ? `${cost.dirty} uncommitted change${cost.dirty === 1 ? '' : 's'} will be lost` : '',
      ]
        .filter((part) => part !== '')
        .join(', ');
      ctx.change(
        pushOverlay(ctx.screen(), {
          kind: 'confirm',
          question: `discard ${ref.branch} and its worktree? (${lost})`,
          action: { type: 'discard', ref },
        }),
      );
    },
    (err: unknown) =>
      ctx.change({ notice: `cannot discard: ${err instanceof Error ? err.message : String(err)}` }),
  );
}

function confirmYes(ctx: ActionContext): void {
  const top = topOverlay(ctx.screen());
  if (top?.kind !== 'confirm') return;
  ctx.change(popOverlay(ctx.screen()));
  const { ref } = top.action;
  const port = ctx.review.port;
  if (port === undefined) return;
  port.discard(ref).then(
    (result) => {
      if (result.ok) ctx.review.settle(ref.branch, result.message);
      ctx.change({ notice: result.message });
    },
    (err: unknown) =>
      ctx.change({ notice: `discard failed: ${err instanceof Error ? err.message : String(err)}` }),
  );
}

export const HANDLERS: Record<BindingId, Handler> = {
  ...PROPOSAL_HANDLERS,
  'loop.prev': (ctx) => moveSelection(ctx, -1),
  'loop.next': (ctx) => moveSelection(ctx, 1),
  'loop.start': (ctx) => {
    const { view, name } = selected(ctx);
    if (view === undefined) return ctx.change({ notice: 'no loop to start' });
    if (view.info.problem !== undefined)
      return ctx.change({ notice: `${name} cannot start: ${view.info.problem}` });
    ctx.change({ notice: replyNotice(name, ctx.port.send({ type: 'start', loop: name })) });
  },
  'loop.stop': (ctx) => {
    const { view, name } = selected(ctx);
    if (view === undefined || (view.status !== 'running' && view.status !== 'paused')) {
      return ctx.change({ notice: `${name || 'nothing'} is not running` });
    }
    const reply = ctx.port.send({ type: 'stop', loop: name });
    if (!reply.ok) return ctx.change({ notice: `${name} not stopped: ${reply.reason}` });
    ctx.store.markStopping(name);
  },
  'loop.pause': (ctx) => {
    const { view, name } = selected(ctx);
    const type = view?.status === 'running' ? 'pause' : view?.status === 'paused' ? 'resume' : undefined;
    if (type === undefined) return ctx.change({ notice: `${name || 'nothing'} is not running` });
    const reply = ctx.port.send({ type, loop: name });
    if (!reply.ok) ctx.change({ notice: `${name} not ${type}d: ${reply.reason}` });
  },
  'loop.instruct': (ctx) => openInstruct(ctx, false),
  'loop.interrupt': (ctx) => openInstruct(ctx, true),
  'approval.show': (ctx) => {
    const approval = nextApproval(ctx, true);
    if (approval === undefined) return ctx.change({ notice: 'no tool call is waiting for approval' });
    ctx.change(pushOverlay(ctx.screen(), { kind: 'approval', approval }));
  },
  'run.merge': merge,
  'run.discard': discard,
  'pane.next': (ctx) => {
    const ids = PANES.map((pane) => pane.id);
    const at = ids.indexOf(ctx.screen().focus);
    ctx.change({ focus: ids[(at + 1) % ids.length] ?? 'loops' });
  },
  'proposals.open': (ctx) => ctx.change({ focus: 'proposals' }),
  'help.toggle': (ctx) => ctx.change(pushOverlay(ctx.screen(), { kind: 'help' })),
  'app.quit': (ctx) => {
    const screen = ctx.screen();
    ctx.change(screen.quitting ? { leaveNow: true } : { quitting: true, overlays: [] });
  },
  'trace.up': (ctx) => {
    const trace = selected(ctx).view?.trace.length ?? 0;
    scrollBy(ctx, 'trace', 1, Math.max(0, trace - traceRows(ctx.heights.trace ?? 0)));
  },
  'trace.down': (ctx) => scrollBy(ctx, 'trace', -1, Number.MAX_SAFE_INTEGER),
  'review.up': (ctx) => scrollBy(ctx, 'review', -1, Number.MAX_SAFE_INTEGER),
  'review.down': (ctx) => {
    const diff = reviewFiles(ctx);
    scrollBy(ctx, 'review', 1, Math.max(0, (diff?.lines ?? 0) - reviewRows(ctx.heights.review ?? 0)));
  },
  'review.nextFile': (ctx) => {
    const diff = reviewFiles(ctx);
    const top = ctx.screen().scroll.review ?? 0;
    const next = diff?.files.find((line) => line > top);
    if (next !== undefined) ctx.change({ scroll: { ...ctx.screen().scroll, review: next } });
  },
  'review.prevFile': (ctx) => {
    const diff = reviewFiles(ctx);
    const top = ctx.screen().scroll.review ?? 0;
    const prev = [...(diff?.files ?? [])].reverse().find((line) => line < top);
    ctx.change({ scroll: { ...ctx.screen().scroll, review: prev ?? 0 } });
  },
  'approval.approve': (ctx) => approvalAnswer(ctx, true),
  'approval.deny': (ctx) => approvalAnswer(ctx, false),
  'approval.hide': (ctx) => {
    const top = topOverlay(ctx.screen());
    if (top?.kind !== 'approval') return;
    ctx.change({
      ...popOverlay(ctx.screen()),
      ...settle(ctx, top.approval.approvalId),
      notice: `${top.approval.loop} keeps waiting for approval (a shows it again)`,
    });
  },
  'confirm.yes': confirmYes,
  'confirm.no': (ctx) => ctx.change({ ...popOverlay(ctx.screen()), notice: 'nothing was changed' }),
  'help.close': (ctx) => ctx.change(popOverlay(ctx.screen())),
};

function openInstruct(ctx: ActionContext, now: boolean): void {
  const { view, name } = selected(ctx);
  if (view === undefined) return ctx.change({ notice: 'no loop to instruct' });
  ctx.change(
    pushOverlay(ctx.screen(), { kind: 'prompt', purpose: { type: 'instruct', loop: name, now }, text: '' }),
  );
}

/** Sends the instruction typed in the prompt. */
export function sendInstruction(ctx: ActionContext, loop: string, now: boolean, text: string): void {
  const reply = ctx.port.send({ type: 'instruct', loop, text, now });
  ctx.change({
    ...popOverlay(ctx.screen()),
    notice: !reply.ok
      ? `not sent to ${loop}: ${reply.reason}`
      : now
        ? `interrupting ${loop}: ${text}`
        : `queued for ${loop}: ${text}`,
  });
}
