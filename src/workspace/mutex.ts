/**
 * An in-process lock per key, as a promise chain. Parallel `git worktree add` in one repository
 * races on .git/config.lock and can leave a branch behind, so worktree changes take turns.
 */
const tails = new Map<string, Promise<unknown>>();

export async function withLock<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    // Forget the key once nothing is queued behind us, so the map does not grow without end.
    if (tails.get(key) === tail) tails.delete(key);
  }
}
