/**
 * One run's spend file, state/<loop>/spend/<run>.jsonl: one call record a line, appended as the call
 * is billed. Each line is one write(2) on an O_APPEND descriptor, made synchronously inside the
 * model.response event, so a call is in the file (the page cache survives the process) before the
 * run does anything else; `sync` makes it durable across a power loss too (at iteration end).
 *
 * A process killed mid-write can leave at most a last line without its newline: readers stop at the
 * last newline, so the fragment is never counted, and the rollup's offset never passes it.
 */
import { closeSync, fsync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { callRecordSchema, type CallRecord } from './ledger.js';
import { isNotFound } from './errno.js';

/** A line before the last that is not a call record: edited or damaged, not torn by a crash. */
export class SpendFileCorruptError extends Error {
  constructor(
    readonly file: string,
    /** `:LINE` when read from the start, ` at byte N` when read from an offset. */
    readonly where: string,
    detail: string,
  ) {
    super(`${file}${where}: not a spend record (${detail}); fix or remove that line`);
    this.name = 'SpendFileCorruptError';
  }
}

export interface SpendChunk {
  calls: CallRecord[];
  /** Byte offset just after the last whole line read: where the next read starts. */
  end: number;
  /** Bytes after `end` that do not yet end in a newline (a torn or in-progress last line). */
  tail: number;
}

/** The whole lines of `file` from byte `from`. A missing file reads as empty. */
export async function readSpendFile(file: string, from = 0): Promise<SpendChunk> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isNotFound(error)) return { calls: [], end: from, tail: 0 };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size <= from) return { calls: [], end: from, tail: 0 };
    const buffer = Buffer.alloc(size - from);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, from + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    const data = buffer.subarray(0, read);
    const lastNewline = data.lastIndexOf(0x0a);
    const whole = lastNewline === -1 ? 0 : lastNewline + 1;
    const calls: CallRecord[] = [];
    const lines = data.subarray(0, whole).toString('utf8').split('\n');
    let at = from;
    for (const [i, line] of lines.entries()) {
      const where = from === 0 ? `:${i + 1}` : ` at byte ${at}`;
      at += Buffer.byteLength(line, 'utf8') + 1;
      if (line.trim() === '') continue;
      calls.push(parseCallLine(file, where, line));
    }
    return { calls, end: from + whole, tail: read - whole };
  } finally {
    await handle.close();
  }
}

function parseCallLine(file: string, line: string, text: string): CallRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SpendFileCorruptError(file, line, error instanceof Error ? error.message : 'invalid JSON');
  }
  const parsed = callRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new SpendFileCorruptError(file, line, `${where}${issue?.message ?? 'unexpected shape'}`);
  }
  return parsed.data;
}

/** The text of one record's line. */
export function spendLine(call: CallRecord): Buffer {
  return Buffer.from(`${JSON.stringify(call)}\n`, 'utf8');
}

const fsyncAsync = promisify(fsync);

/** Appends to one run's spend file; one instance per file, in the one process holding the state lock. */
export class SpendAppender {
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly fd: number,
    /** Bytes in the file after our last whole line (where the next line goes). */
    private size: number,
  ) {}

  static async open(file: string, size: number): Promise<SpendAppender> {
    await mkdir(path.dirname(file), { recursive: true });
    const fd = openSync(file, 'a');
    // A torn fragment left by a killed writer would glue onto our first line: cut it off.
    ftruncateSync(fd, size);
    return new SpendAppender(file, fd, size);
  }

  /** Writes the line now (synchronously); returns its length. On failure the file is left as before. */
  append(line: Buffer): number {
    if (this.closed) throw new Error(`spend file ${this.file} is closed`);
    let offset = 0;
    try {
      while (offset < line.length) offset += writeSync(this.fd, line, offset, line.length - offset);
    } catch (error) {
      // A short write (full disk) must not leave half a line for the next one to glue onto.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // The reader stops at the last newline anyway; the fragment is never counted.
      }
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot append to spend file ${this.file}: ${why}`, { cause: error });
    }
    this.size += line.length;
    return line.length;
  }

  /** An fsync in flight: close() waits for it, so it never reaches a closed (or reused) descriptor. */
  private syncing: Promise<void> | undefined;

  /** To disk, on the thread pool: the event loop goes on meanwhile (other runs, other files' fsyncs). */
  sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const synced = fsyncAsync(this.fd);
    this.syncing = synced.catch(() => undefined);
    return synced;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.syncing;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}
