/**
 * Outbound notifications: a POST to the URL in an environment variable (loops.yaml `notify.url_env`,
 * default LOOPS_NOTIFY_URL) on a run's outcome, when a loop needs a person, and on the fleet's caps.
 *
 * Never blocks a run: events are queued (bounded; when full the newest notice is dropped and said so)
 * and one sender delivers them in order, each attempt with its own timeout, a bounded number of
 * retries with doubling back-off. The URL is a secret: it is read once, kept in this object, and never
 * written to an event, a log line or an error (failure reasons are status codes and error codes only).
 */
import type { LoopEvent } from '../core/events.js';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import { DEFAULT_NOTIFY_ENV, NOTIFY_KINDS, type NotifyKind } from '../fleet/file.js';
import { noticeFor, type Notice } from './message.js';

export interface OutboundOptions {
  urlEnv?: string;
  on?: readonly NotifyKind[];
  /** Retries after the first attempt (so 1 + retries attempts in all). */
  retries?: number;
  /** The first back-off; each retry waits twice the one before. */
  backoffMs?: number;
  /** One attempt's limit: a receiver that never answers is given up on. */
  timeoutMs?: number;
  /** Notices waiting to be sent at most; past it new ones are dropped (and reported). */
  maxQueue?: number;
  /** On shutdown, how long the notices still queued have to go out. */
  flushMs?: number;
}

const DEFAULTS = { retries: 3, backoffMs: 1_000, timeoutMs: 10_000, maxQueue: 100, flushMs: 5_000 };

type Attempt = { ok: true; status: number } | { ok: false; reason: string; retry: boolean };

export class OutboundNotifier implements SupervisorJob {
  readonly name = 'outbound notifications';
  private ctx: JobContext | undefined;
  private url: string | undefined;
  private readonly queue: Notice[] = [];
  private sending: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private readonly options: typeof DEFAULTS & { urlEnv: string; on: ReadonlySet<NotifyKind> };

  constructor(options: OutboundOptions = {}) {
    this.options = {
      retries: options.retries ?? DEFAULTS.retries,
      backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      maxQueue: options.maxQueue ?? DEFAULTS.maxQueue,
      flushMs: options.flushMs ?? DEFAULTS.flushMs,
      urlEnv: options.urlEnv ?? DEFAULT_NOTIFY_ENV,
      on: new Set(options.on ?? NOTIFY_KINDS),
    };
  }

  /** Whether a URL was found at start (nothing is sent otherwise). */
  get active(): boolean {
    return this.url !== undefined;
  }

  start(ctx: JobContext): void {
    this.ctx = ctx;
    const value = ctx.env[this.options.urlEnv];
    if (value === undefined || value === '') return;
    if (!isHttpUrl(value)) {
      // The value itself is never repeated: it may be a secret pasted into the wrong variable.
      ctx.reportError(
        new Error(`${this.options.urlEnv} is not an http:// or https:// URL: outbound notifications are off`),
      );
      return;
    }
    this.url = value;
    this.unsubscribe = ctx.subscribe((event) => this.onEvent(event));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    const pending = this.sending;
    if (pending) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.flushMs);
      });
      await Promise.race([pending, deadline]);
      clearTimeout(timer);
    }
    this.abort.abort();
    await this.sending;
  }

  private onEvent(event: LoopEvent): void {
    if (this.abort.signal.aborted) return;
    const notice = noticeFor(event);
    if (!notice || !this.options.on.has(notice.kind)) return;
    if (this.queue.length >= this.options.maxQueue) {
      this.emit(notice, {
        type: 'notify.failed',
        about: notice.about,
        reason: `dropped: ${this.options.maxQueue} notifications were already waiting to be sent`,
        attempts: 0,
      });
      return;
    }
    this.queue.push(notice);
    this.kick();
  }

  /** One sender at a time; a notice queued just as it finished starts the next. */
  private kick(): void {
    this.sending ??= this.drain().finally(() => {
      this.sending = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let notice = this.queue.shift(); notice; notice = this.queue.shift()) {
      if (this.abort.signal.aborted) {
        this.giveUp(notice, 'loops shut down before it was sent', 0);
        continue;
      }
      await this.deliver(notice);
    }
  }

  private async deliver(notice: Notice): Promise<void> {
    const attempts = 1 + this.options.retries;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const result = await this.attempt(notice);
      if (result.ok) {
        this.emit(notice, {
          type: 'notify.sent',
          about: notice.about,
          status: result.status,
          attempts: attempt,
        });
        return;
      }
      if (!result.retry || attempt === attempts || this.abort.signal.aborted) {
        this.giveUp(notice, result.reason, attempt);
        return;
      }
      await sleep(this.options.backoffMs * 2 ** (attempt - 1), this.abort.signal);
    }
  }

  private async attempt(notice: Notice): Promise<Attempt> {
    const url = this.url;
    if (url === undefined) return { ok: false, reason: 'no URL', retry: false };
    if (this.abort.signal.aborted) return { ok: false, reason: 'loops shut down', retry: false };
    const controller = new AbortController();
    const onStop = (): void => controller.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notice.body),
        signal: controller.signal,
        redirect: 'error',
      });
      // The answer's body is not needed; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true, status: response.status };
      const retry = response.status >= 500 || response.status === 429 || response.status === 408;
      return { ok: false, reason: `the receiver answered HTTP ${response.status}`, retry };
    } catch (error) {
      if (timedOut)
        return { ok: false, reason: `no answer within ${this.options.timeoutMs / 1000}s`, retry: true };
      if (this.abort.signal.aborted) return { ok: false, reason: 'loops shut down', retry: false };
      return { ok: false, reason: `could not reach the receiver (${errorCode(error)})`, retry: true };
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private giveUp(notice: Notice, reason: string, attempts: number): void {
    this.emit(notice, { type: 'notify.failed', about: notice.about, reason, attempts });
  }

  private emit(notice: Notice, body: Parameters<JobContext['emit']>[2]): void {
    this.ctx?.emit('fleet', notice.loop, body);
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Only a code (ECONNREFUSED, ENOTFOUND...): fetch's messages and causes name the host and port, and
 * the URL is a secret.
 */
function errorCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = cause?.code ?? (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'network error';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
