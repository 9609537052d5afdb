/**
 * The ProposalsPort (core/proposals.ts) over the proposal files: what the screen's proposals pane and
 * `loops review` read and decide with. `improve` starts an analysis in the background (one per loop at
 * a time) and answers at once; its progress arrives as `proposal.changed` events through `emit`.
 */
import type { LoopEventBody } from '../core/events.js';
import {
  shownToPerson,
  type ProposalAnswer,
  type ProposalsPort,
  type ProposalView,
} from '../core/proposals.js';
import { statePaths } from '../state/paths.js';
import { improve, type ImproveOptions } from './improve.js';
import { acceptProposal, rejectProposal } from './review.js';
import { byReviewOrder, ProposalStore, type ProposalRecord } from './store.js';

export interface ProposalsOptions extends Omit<ImproveOptions, 'repoRoot' | 'loop' | 'emit'> {
  /** Where hill-climb events go (the supervisor's job stream: source `hillclimb`). */
  emit?: (loop: string, body: LoopEventBody) => void;
  /** Errors of a background analysis (never swallowed). */
  reportError?: (error: unknown) => void;
}

/** What the port adds to the view: the internal fields stay internal. */
export function toView(record: ProposalRecord): ProposalView {
  const { targetHash: _hash, runs: _runs, ...view } = record;
  return view;
}

export interface OpenedProposals extends ProposalsPort {
  /** Resolves when every analysis started by `improve` has ended (tests, shutdown). */
  settled(): Promise<void>;
}

export function openProposals(repoRoot: string, options: ProposalsOptions = {}): OpenedProposals {
  const store = new ProposalStore(statePaths(repoRoot), repoRoot);
  const running = new Map<string, Promise<void>>();
  return {
    async list(loop, o) {
      const all = (await store.list(loop)).sort(byReviewOrder).map(toView);
      return o?.all === true ? all : all.filter(shownToPerson);
    },
    accept: (id, o) => acceptProposal(store, repoRoot, id, o),
    reject: (id, reason) => rejectProposal(store, id, reason),
    improve(loop): Promise<ProposalAnswer> {
      if (running.has(loop))
        return Promise.resolve({ ok: false, reason: `${loop} is already being analysed` });
      const { emit, reportError, ...rest } = options;
      const job = improve({
        ...rest,
        repoRoot,
        loop,
        ...(emit ? { emit: (body: LoopEventBody) => emit(loop, body) } : {}),
      })
        .then((result) => {
          if (!result.ok) emit?.(loop, { type: 'proposal.failed', id: '', reason: result.reason });
        })
        .catch((error: unknown) => reportError?.(error))
        .finally(() => running.delete(loop));
      running.set(loop, job);
      return Promise.resolve({
        ok: true,
        detail: `analysing ${loop}: the proposal appears when it has been measured`,
      });
    },
    async settled() {
      await Promise.all([...running.values()]);
    },
  };
}
