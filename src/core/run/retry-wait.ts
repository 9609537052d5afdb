/** The wait between a failed model call and its retry: a back-off, and a sleep that a signal ends. */

const FIRST_MS = 500;
const MAX_MS = 8_000;

/**
 * Exponential back-off after failed attempt `attempt` (from 1): 0.5 s, 1 s, 2 s, … up to 8 s, less up
 * to a quarter at random, so loops that failed together do not retry together.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(FIRST_MS * 2 ** Math.max(0, attempt - 1), MAX_MS);
  return Math.round(base * (1 - random() * 0.25));
}

/** Waits `ms`, unless `signal` fires first (a stop, a `!`, the deadline). */
export function sleep(ms: number, signal: AbortSignal): Promise<'slept' | 'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const done = (how: 'slept' | 'aborted'): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(how);
    };
    const onAbort = (): void => done('aborted');
    // setTimeout fires at once past 2^31-1 ms; nearly 25 days is as long as any wait needs to be.
    const timer = setTimeout(() => done('slept'), Math.min(ms, 2 ** 31 - 1));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
