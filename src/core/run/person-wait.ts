/**
 * One wait for a person, shared by an approval and a stall's pause: it ends with the person's answer,
 * a timeout, or a stop, whichever comes first, and settles once (a late answer finds nothing waiting).
 */
export type PersonWait<T> = { by: 'person'; answer: T } | { by: 'timeout' } | { by: 'stop' };

/**
 * `listen` is handed the function a person's answer calls and returns what undoes the listening; a
 * `timeoutMs` of null waits until answered or stopped.
 */
export function waitForPerson<T>(
  signal: AbortSignal,
  timeoutMs: number | null,
  listen: (answer: (value: T) => void) => () => void,
): Promise<PersonWait<T>> {
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    // Empty while `listen` runs: an answer given from inside it is undone just after.
    const undoing: Array<() => void> = [];
    const settle = (result: PersonWait<T>): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
      for (const undo of undoing) undo();
      resolve(result);
    };
    // A stop wins over the wait.
    const onStop = (): void => settle({ by: 'stop' });
    const unlisten = listen((answer) => settle({ by: 'person', answer }));
    if (done) return unlisten();
    undoing.push(unlisten);
    if (signal.aborted) return onStop();
    signal.addEventListener('abort', onStop, { once: true });
    if (timeoutMs !== null) timer = setTimeout(() => settle({ by: 'timeout' }), timeoutMs);
  });
}
