/**
 * Turning SDK failures into ProviderErrors. Both SDKs are generated from the same core, so an HTTP
 * status means the same thing in each; the per-SDK files only say which class is which.
 */
import { ProviderError, type ProviderErrorKind } from './provider.js';

/** What a provider says about itself in messages. */
export interface ProviderLabel {
  /** The `provider` field of the errors (anthropic, openai). */
  name: string;
  /** How people call the service (Anthropic, OpenAI). */
  title: string;
  /** The variable that holds the key, named in auth errors. */
  keyVariable: string;
  /** The variable that holds the base URL, named in connection errors. */
  baseUrlVariable: string;
  baseUrl: string;
  /** Removed from every message, in case a server echoes it back. */
  secret?: string;
}

export interface Classified {
  kind: ProviderErrorKind;
  retryable: boolean;
}

export function classifyStatus(status: number): Classified {
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false };
  if (status === 429) return { kind: 'rate_limit', retryable: true };
  if (status === 529) return { kind: 'overloaded', retryable: true };
  if (status === 408) return { kind: 'connection', retryable: true };
  // The SDKs retry 409 (a lock conflict on the server) too.
  if (status === 409 || status >= 500) return { kind: 'server', retryable: true };
  return { kind: 'bad_request', retryable: false };
}

/** Anthropic's error `type`, the only thing an error sent inside a stream carries. */
export function classifyErrorType(type: string | null | undefined): Classified {
  switch (type) {
    case 'overloaded_error':
      return { kind: 'overloaded', retryable: true };
    case 'rate_limit_error':
      return { kind: 'rate_limit', retryable: true };
    case 'authentication_error':
    case 'permission_error':
    case 'billing_error':
      return { kind: 'auth', retryable: false };
    case 'invalid_request_error':
    case 'not_found_error':
      return { kind: 'bad_request', retryable: false };
    default:
      return { kind: 'server', retryable: true };
  }
}

/**
 * An error the API answered with: an HTTP status, or an error event inside the stream. `headers` are
 * the response's, for the wait it asks for (retry-after-ms, retry-after).
 */
export function apiError(
  label: ProviderLabel,
  { kind, retryable }: Classified,
  detail: string,
  status: number | undefined,
  cause: unknown,
  headers?: HeaderReader,
): ProviderError {
  // The SDKs start their messages with the status, which the headline already gives.
  const plain =
    status !== undefined && detail.startsWith(`${status} `) ? detail.slice(`${status} `.length) : detail;
  const error = build(label, kind, retryable, `${headline(label, kind, status)}: ${plain}`, cause);
  if (status !== undefined) error.status = status;
  const wait = headers ? retryAfterMs(headers) : undefined;
  if (wait !== undefined) error.retryAfterMs = wait;
  return error;
}

/** What the SDKs' error headers offer (a Headers object). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** The response headers an SDK error carries, if any. */
export function headersOf(error: unknown): HeaderReader | undefined {
  if (typeof error !== 'object' || error === null || !('headers' in error)) return undefined;
  const headers: unknown = error.headers;
  if (typeof headers !== 'object' || headers === null || !('get' in headers)) return undefined;
  return typeof headers.get === 'function' ? (headers as HeaderReader) : undefined;
}

/**
 * The wait a response asks for before a retry: `retry-after-ms` (the SDKs' own), else `retry-after`
 * in seconds or as an HTTP date. Undefined when there is none or it cannot be read.
 */
export function retryAfterMs(headers: HeaderReader, now = Date.now()): number | undefined {
  const ms = parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** No response within the request's timeout (which the caller sets from the time left). */
export function timeoutError(
  label: ProviderLabel,
  timeoutMs: number | undefined,
  cause: unknown,
): ProviderError {
  const within = timeoutMs === undefined ? '' : ` within ${Math.round(timeoutMs / 100) / 10}s`;
  const message = `${label.title} at ${label.baseUrl} did not answer${within}: the request timed out`;
  return build(label, 'timeout', true, message, cause);
}

/** A body the SDK could not read (not JSON, an event of the wrong shape): the server's fault, not the network's. */
export function malformedError(label: ProviderLabel, detail: string, cause: unknown): ProviderError {
  const message = `${label.title} sent a response that could not be read (malformed body): ${detail}`;
  return build(label, 'malformed', false, message, cause);
}

/**
 * A parse failure inside the SDK: JSON.parse of an event (a SyntaxError, which the stream helpers wrap
 * in an error of their own, so the causes are followed), or the helper's own check of event order.
 */
export function isMalformedBody(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof SyntaxError) return true;
    if (/unexpected event order/i.test(e.message)) return true;
  }
  return false;
}

/** No answer at all, or a stream that broke off after it started (`midStream`). */
export function connectionError(
  label: ProviderLabel,
  detail: string,
  midStream: boolean,
  cause: unknown,
): ProviderError {
  if (midStream) {
    const message = `the connection to ${label.title} broke off in the middle of the response; try again`;
    return new BrokenStreamError(redact(`${message}: ${detail}`, label.secret), label.name, { cause });
  }
  const what = `could not reach ${label.title} at ${label.baseUrl}; check the network or ${label.baseUrlVariable}`;
  return build(label, 'connection', true, `${what}: ${detail}`, cause);
}

/**
 * A response that started and then broke off: retryable, from scratch (ModelCaller makes every retry;
 * the SDKs make none).
 */
export class BrokenStreamError extends ProviderError {
  constructor(message: string, provider: string, options?: { cause?: unknown }) {
    super('connection', message, provider, true, options);
    this.name = 'BrokenStreamError';
  }
}

export function abortedError(label: ProviderLabel, cause?: unknown): ProviderError {
  return build(label, 'aborted', false, `the request to ${label.title} was aborted`, cause);
}

function build(
  label: ProviderLabel,
  kind: ProviderErrorKind,
  retryable: boolean,
  message: string,
  cause: unknown,
): ProviderError {
  return new ProviderError(kind, redact(message, label.secret), label.name, retryable, { cause });
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function headline(label: ProviderLabel, kind: ProviderErrorKind, status: number | undefined): string {
  const http = status === undefined ? '' : ` (HTTP ${status})`;
  switch (kind) {
    case 'auth':
      return `${label.title} refused the credentials${http}; check ${label.keyVariable}`;
    case 'rate_limit':
      return `${label.title} is limiting the request rate${http}; wait, or run fewer loops at once`;
    case 'overloaded':
      return `${label.title} is overloaded${http}; try again later`;
    case 'server':
      return `${label.title} failed${http}; try again later`;
    case 'bad_request':
      return `${label.title} rejected the request${http}`;
    default:
      return `${label.title} ${kind} error${http}`;
  }
}

function redact(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}
