/**
 * Hill-climbing proposals as the proposals pane shows them, loaded through the ProposalsPort and
 * kept here with the selection (an external store, like the review model), so the pane and the key
 * handlers read the same list. Without a port the pane says there are no proposals yet.
 */
import {
  shownToPerson,
  type ProposalAnswer,
  type ProposalsPort,
  type ProposalView,
} from '../core/proposals.js';

export type ProposalsList =
  | { state: 'none' }
  | { state: 'loading'; proposals: readonly ProposalView[] }
  | { state: 'ready'; proposals: readonly ProposalView[] }
  | { state: 'error'; message: string; proposals: readonly ProposalView[] };

export class ProposalsModel {
  private list: ProposalsList;
  private selectedId: string | undefined;
  private readonly listeners = new Set<() => void>();
  private loads = 0;

  constructor(readonly port: ProposalsPort | undefined) {
    this.list = { state: 'none' };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Replaced on every change (the list or the selection), so a reader re-renders on either. */
  private current: { list: ProposalsList; selected: string | undefined } = {
    list: { state: 'none' },
    selected: undefined,
  };

  private changed(): void {
    this.current = { list: this.list, selected: this.selectedId };
    for (const listener of [...this.listeners]) listener();
  }

  snapshot = (): { list: ProposalsList; selected: string | undefined } => this.current;

  proposals(): readonly ProposalView[] {
    return this.list.state === 'none' ? [] : this.list.proposals;
  }

  /** The selected proposal: kept by id across reloads, else the first. */
  selected(): ProposalView | undefined {
    const all = this.proposals();
    return all.find((p) => p.id === this.selectedId) ?? all[0];
  }

  move(step: number): void {
    const all = this.proposals();
    if (all.length === 0) return;
    const at = Math.max(
      0,
      all.findIndex((p) => p.id === this.selected()?.id),
    );
    const next = all[Math.max(0, Math.min(all.length - 1, at + step))];
    if (next === undefined || next.id === this.selectedId) return;
    this.selectedId = next.id;
    this.changed();
  }

  /** (Re)reads the list; a later load's answer wins over an earlier one still in flight. */
  refresh(): void {
    const port = this.port;
    if (port === undefined) return;
    const load = ++this.loads;
    this.list = { state: 'loading', proposals: this.proposals() };
    this.changed();
    port.list().then(
      (proposals) => {
        if (load !== this.loads) return;
        // Only what a person decides on, whatever the port lists: never a regressed proposal.
        this.list = { state: 'ready', proposals: proposals.filter(shownToPerson) };
        this.changed();
      },
      (err: unknown) => {
        if (load !== this.loads) return;
        this.list = { state: 'error', message: errorText(err), proposals: this.proposals() };
        this.changed();
      },
    );
  }

  /** Runs an answer through the port, then reloads (the status changed); never throws. */
  async answer(run: (port: ProposalsPort) => Promise<ProposalAnswer>): Promise<ProposalAnswer> {
    const port = this.port;
    if (port === undefined) return { ok: false, reason: 'hill-climbing is not available on this screen' };
    let result: ProposalAnswer;
    try {
      result = await run(port);
    } catch (err) {
      result = { ok: false, reason: errorText(err) };
    }
    this.refresh();
    return result;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
