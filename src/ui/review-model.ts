/**
 * The diffs the review pane shows, loaded through the ReviewPort and kept per run branch. An
 * external store (like the UI store), so the pane and the key handlers read the same diff.
 */
import type { ReviewDiff, ReviewPort, RunRef } from './review-port.js';

export type DiffEntry =
  | { state: 'loading' }
  | { state: 'ready'; diff: ReviewDiff }
  | { state: 'error'; message: string }
  /** Merged or discarded from this screen: what happened, instead of a stale diff. */
  | { state: 'done'; message: string };

export class ReviewModel {
  private readonly entries = new Map<string, DiffEntry>();
  private readonly listeners = new Set<() => void>();

  constructor(readonly port: ReviewPort | undefined) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  private set(branch: string, entry: DiffEntry): void {
    this.entries.set(branch, entry);
    for (const listener of [...this.listeners]) listener();
  }

  /** The entry for a run, starting its load the first time it is asked for. */
  get(ref: RunRef): DiffEntry {
    const known = this.entries.get(ref.branch);
    if (known !== undefined) return known;
    if (this.port === undefined) {
      const none: DiffEntry = { state: 'error', message: 'review is not available on this screen' };
      this.entries.set(ref.branch, none);
      return none;
    }
    const loading: DiffEntry = { state: 'loading' };
    this.entries.set(ref.branch, loading);
    this.port.diff(ref).then(
      (diff) => this.set(ref.branch, { state: 'ready', diff }),
      (err: unknown) =>
        this.set(ref.branch, { state: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
    return loading;
  }

  peek(branch: string): DiffEntry | undefined {
    return this.entries.get(branch);
  }

  /** After a merge or discard: the pane says what happened. */
  settle(branch: string, message: string): void {
    this.set(branch, { state: 'done', message });
  }

  /** Forgets a run's diff so the next look reloads it (after a refused merge, nothing changed). */
  forget(branch: string): void {
    this.entries.delete(branch);
    for (const listener of [...this.listeners]) listener();
  }
}
