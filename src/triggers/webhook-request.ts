/**
 * One webhook request's parts: its body read with a size limit, its signature checked in GitHub's
 * format, and what of it reaches the run's context. Nothing here logs or keeps the signature or the
 * secret.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verify } from '@octokit/webhooks-methods';
import type { TriggerContext } from '../core/trigger-context.js';
import { isDeliveryId } from './webhook-deliveries.js';

/** The body, as far as the context keeps it (characters of JSON); the rest is cut and marked truncated. */
export const PAYLOAD_CHARS = 16_000;

export type BodyRead = { kind: 'ok'; body: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

/**
 * Reads the body, refusing it as soon as it passes `max` bytes: a declared length over the limit is
 * refused before a byte is read, and a streamed body stops being kept at the limit (what follows is
 * drained and dropped, never held in memory).
 */
export function readBody(req: IncomingMessage, max: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (read: BodyRead): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      resolve(read);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        done({ kind: 'too-large' });
        // Keep the connection readable so the 413 can be answered; the rest is dropped as it comes.
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done({ kind: 'ok', body: Buffer.concat(chunks) });
    const onError = (): void => done({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/** GitHub's header: `sha256=` and 64 hex digits. */
const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/** The signature header, when there is exactly one. */
export function signatureHeader(req: IncomingMessage): string | undefined {
  const value = req.headers['x-hub-signature-256'];
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * Whether `signature` is GitHub's HMAC-SHA256 of the body with the secret. The library hashes the
 * body as a UTF-8 string, as GitHub does; a body that is not valid UTF-8 does not verify (fail closed).
 */
export async function signatureMatches(secret: string, body: Buffer, signature: string): Promise<boolean> {
  if (!SIGNATURE.test(signature) || body.length === 0) return false;
  const text = body.toString('utf8');
  // A body that does not survive decoding was not what GitHub signed, whatever the header says.
  if (!Buffer.from(text, 'utf8').equals(body)) return false;
  try {
    return await verify(secret, text, signature);
  } catch {
    return false;
  }
}

/** A digest of the body, to recognise a replayed body under another delivery id (never the signature). */
export function bodyKey(body: Buffer): string {
  return `body:${createHash('sha256').update(body).digest('hex')}`;
}

/** The sender's delivery id (X-GitHub-Delivery, else X-Delivery-Id), when it is one. */
export function deliveryId(req: IncomingMessage): string | undefined {
  const value = req.headers['x-github-delivery'] ?? req.headers['x-delivery-id'];
  if (typeof value !== 'string') return undefined;
  const id = value.trim();
  return isDeliveryId(id) ? id : undefined;
}

/** X-GitHub-Event, when it is a plain name (it reaches people's screens and the agent's context). */
export function eventName(req: IncomingMessage): string | undefined {
  const value = req.headers['x-github-event'];
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : undefined;
}

/**
 * The body as the context keeps it: parsed when it is JSON (or GitHub's form encoding, whose
 * `payload` field holds the JSON), else the text; clipped to PAYLOAD_CHARS characters.
 */
export function parseBody(
  body: Buffer,
  contentType: string | undefined,
): { body: unknown; truncated: boolean } {
  const text = body.toString('utf8');
  let parsed: unknown = text;
  const json = (s: string): unknown => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return undefined;
    }
  };
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    const value = payload === null ? undefined : json(payload);
    if (value !== undefined) parsed = value;
  } else {
    const value = json(text);
    if (value !== undefined) parsed = value;
  }
  const shown = typeof parsed === 'string' ? parsed : JSON.stringify(parsed);
  if (shown.length <= PAYLOAD_CHARS) return { body: parsed, truncated: false };
  // Too big to keep whole: the start of its text, marked as cut (a clipped object would not parse).
  return { body: `${shown.slice(0, PAYLOAD_CHARS)}…`, truncated: true };
}

/** The run's context for a delivery: what arrived, marked as untrusted by living in `payload`. */
export function webhookContext(
  hook: string,
  parts: { delivery?: string; event?: string; body: unknown; truncated: boolean },
  at: Date = new Date(),
): TriggerContext {
  const action = actionOf(parts.body);
  const what = [parts.event ?? 'event', action].filter((s) => s !== undefined).join(' ');
  return {
    kind: 'webhook',
    detail: `webhook ${what}${parts.delivery ? ` (delivery ${parts.delivery.slice(0, 12)})` : ''}`,
    at: at.toISOString(),
    payload: {
      hook,
      ...(parts.delivery === undefined ? {} : { delivery: parts.delivery }),
      ...(parts.event === undefined ? {} : { event: parts.event }),
      body: parts.body,
      ...(parts.truncated ? { truncated: true } : {}),
    },
  };
}

/** GitHub's `action` ("opened", "completed"), when it is a plain word: a person's one-line summary. */
function actionOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('action' in body)) return undefined;
  const action = body.action;
  return typeof action === 'string' && /^[a-z_]{1,40}$/.test(action) ? action : undefined;
}
