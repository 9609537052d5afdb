/**
 * The wire protocol between the process that owns a state folder and every other `loops`: JSON
 * lines over a unix socket. A client says hello (with the protocol version), then asks for a
 * snapshot, subscribes to the event stream (the snapshot, the events of the runs in flight so far,
 * then every event live, with no gap), or sends commands and gets each one's reply. What a client
 * sends is checked here with zod: a malformed message gets an error reply, never a crash.
 */
import { z } from 'zod';
import type { CommandReply, LoopInfo, SupervisorSnapshot } from '../core/control.js';
import type { LoopEvent } from '../core/events.js';

export const PROTOCOL_VERSION = 1;

/** The longest line the owner reads from a client; a longer one ends that connection. */
export const MAX_CLIENT_LINE_BYTES = 1024 * 1024;
/** The longest line a client reads from the owner (a snapshot with large tool inputs). */
export const MAX_OWNER_LINE_BYTES = 64 * 1024 * 1024;

const name = z.string().min(1).max(200);
const ref = z.string().min(1).max(200);
const target = { loop: name, run: z.string().min(1).max(200).optional(), id: ref.optional() };

/** A command as a client may send it: the engine's Command, without a trigger context (that is for jobs). */
export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'),
    ...target,
    trigger: z.string().min(1).max(200).optional(),
    overlap: z.enum(['refuse', 'queue', 'drop']).optional(),
  }),
  z.strictObject({ type: z.literal('stop'), ...target, reason: z.string().max(2000).optional() }),
  z.strictObject({ type: z.literal('pause'), ...target }),
  z.strictObject({ type: z.literal('resume'), ...target }),
  z.strictObject({
    type: z.literal('instruct'),
    ...target,
    text: z.string().min(1).max(100_000),
    now: z.boolean(),
  }),
  z.strictObject({ type: z.literal('approve'), ...target, approvalId: name }),
  z.strictObject({ type: z.literal('deny'), ...target, approvalId: name, reason: z.string().max(2000) }),
]);

export type WireCommand = z.infer<typeof commandSchema>;

export const clientMessageSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('hello'),
    protocol: z.number().int(),
    /** What the client is, for the owner's log: screen, run, control, list. */
    client: z.string().min(1).max(40),
  }),
  z.strictObject({ kind: z.literal('snapshot'), ref }),
  /** Starts the stream: a snapshot, then (with history) the events of the runs in flight so far, then live. */
  z.strictObject({ kind: z.literal('subscribe'), ref, history: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('command'), ref, command: commandSchema }),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;

/**
 * Who owns the folder: a screen (its runs stop when it quits), the daemon, or a headless `loops run`
 * (it serves while its one run goes on, with no triggers; the runs handed to it stop when it ends).
 */
export type OwnerKind = 'screen' | 'daemon' | 'run';

/** The owner as a sentence names it: "the daemon", "the loops run". */
export function ownerName(kind: OwnerKind): string {
  return kind === 'run' ? 'loops run' : kind;
}

export type OwnerMessage =
  | {
      kind: 'welcome';
      protocol: number;
      pid: number;
      owner: OwnerKind;
      repoRoot: string;
      /** Whether approvals are asked (and wait up to the loop's approval.timeout) or denied at once. */
      attended: boolean;
    }
  /** `ref` answers a snapshot or subscribe request; without it, a fresh snapshot after a change. */
  | { kind: 'snapshot'; ref?: string; snapshot: SupervisorSnapshot }
  | { kind: 'event'; event: LoopEvent; replay?: boolean }
  | { kind: 'reply'; ref: string; reply: CommandReply }
  | { kind: 'error'; ref?: string; message: string }
  /** The owner is shutting down; the connection closes after this. */
  | { kind: 'bye'; reason: string };

/** What a client checks of the owner's lines: the envelope; the owner is trusted with the rest. */
export const ownerMessageSchema = z.discriminatedUnion('kind', [
  z.looseObject({
    kind: z.literal('welcome'),
    protocol: z.number(),
    pid: z.number(),
    owner: z.enum(['screen', 'daemon', 'run']),
    repoRoot: z.string(),
    attended: z.boolean(),
  }),
  z.looseObject({
    kind: z.literal('snapshot'),
    ref: z.string().optional(),
    snapshot: z.looseObject({ loops: z.array(z.looseObject({ name: z.string() })), seq: z.number() }),
  }),
  z.looseObject({
    kind: z.literal('event'),
    event: z.looseObject({ type: z.string(), loop: z.string(), run: z.string(), seq: z.number() }),
    replay: z.boolean().optional(),
  }),
  z.looseObject({
    kind: z.literal('reply'),
    ref: z.string(),
    reply: z.looseObject({ id: z.string(), ok: z.boolean(), status: z.string(), reason: z.string() }),
  }),
  z.looseObject({ kind: z.literal('error'), ref: z.string().optional(), message: z.string() }),
  z.looseObject({ kind: z.literal('bye'), reason: z.string() }),
]);

export function parseOwnerMessage(line: string): OwnerMessage | { kind: 'invalid'; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'invalid', message: 'a line from the owner is not JSON' };
  }
  const parsed = ownerMessageSchema.safeParse(value);
  if (!parsed.success)
    return { kind: 'invalid', message: `a message from the owner is malformed: ${issue(parsed.error)}` };
  return parsed.data as unknown as OwnerMessage;
}

export function parseClientMessage(
  line: string,
): ClientMessage | { kind: 'invalid'; message: string; ref?: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'invalid', message: 'not JSON: send one JSON object per line' };
  }
  const parsed = clientMessageSchema.safeParse(value);
  if (!parsed.success) {
    const maybeRef =
      typeof value === 'object' && value !== null && typeof (value as { ref?: unknown }).ref === 'string'
        ? String((value as { ref: string }).ref).slice(0, 200)
        : undefined;
    return {
      kind: 'invalid',
      message: issue(parsed.error),
      ...(maybeRef === undefined ? {} : { ref: maybeRef }),
    };
  }
  return parsed.data;
}

function issue(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'malformed message';
  const where = first.path.length > 0 ? first.path.join('.') : 'message';
  return `${where}: ${first.message}`;
}

export function encode(message: OwnerMessage | ClientMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into lines, refusing one longer than `maxBytes` (the stream is then unusable:
 * there is no telling where the next message starts).
 */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The complete lines in this chunk, or `tooLong` once a line passes the limit. */
  push(chunk: Buffer): { lines: string[]; tooLong: boolean } {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxBytes) return { lines, tooLong: true };
      this.parts.push(piece);
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      this.size += rest.length;
      if (this.size > this.maxBytes) return { lines, tooLong: true };
      // Copied: the chunk's memory may be reused by the stream.
      this.parts.push(Buffer.from(rest));
    }
    return { lines, tooLong: false };
  }
}

export type { CommandReply, LoopInfo, SupervisorSnapshot };
