/**
 * A run's trace: every event, one JSON object a line, append-only (state/<loop>/traces/<run>.jsonl).
 *
 * Appends, not whole-file rewrites: rewriting the file per event costs its whole size, and a writer that
 * coalesces rewrites lets intermediate events never reach disk. Lines go to an O_APPEND descriptor in
 * emit order: the events emitted while a write is in flight (an iteration emits them in bursts) follow
 * it together in one write(2), so each event costs no round trip of its own. A crash can tear at most
 * the last line, which readTrace skips and the next TraceWriter.open trims.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { LoopEvent } from '../core/events.js';
import { isNotFound } from './errno.js';

/**
 * The trace format this loops writes, recorded in each run's `run.started` (`format`). Traces without
 * it are format 1 and read the same way; a trace from a newer loops is refused rather than misread.
 * 2: `run.started` carries format, baseSha and resumedFrom; `loops clean --older-than` may leave a
 * trace with its detail pruned, ending in a `trace.compacted` event.
 */
export const TRACE_FORMAT = 2;

/** The format of a trace's events: that of its run.started, 1 when it has none. */
export function traceFormat(events: readonly LoopEvent[]): number {
  const started = events.find((e) => e.type === 'run.started');
  return started?.type === 'run.started' ? (started.format ?? 1) : 1;
}

export class TraceClosedError extends Error {
  constructor(readonly file: string) {
    super(`trace ${file} is closed; open a new TraceWriter to append to it`);
    this.name = 'TraceClosedError';
  }
}

/** A line other than the last is not an event: the file was edited or damaged, not torn by a crash. */
export class TraceCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: not a trace event (${detail}); fix or remove that line`);
    this.name = 'TraceCorruptError';
  }
}

export class TraceWriter {
  /** Lines not yet handed to write(2), and whose append() resolves once they are written. */
  private batch: Buffer[] = [];
  private waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** The write loop while it runs: one write at a time, so lines land in the order append() was called. */
  private writing: Promise<void> | undefined;
  /** After a failed write every later append fails too: a trace with a silent gap would mislead. */
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(file: string): Promise<TraceWriter> {
    await mkdir(path.dirname(file), { recursive: true });
    await trimTornTail(file);
    const handle = await open(file, 'a');
    return new TraceWriter(file, handle);
  }

  /** Resolves once the line is written to the file (it survives this process crashing). */
  append(event: LoopEvent): Promise<void> {
    if (this.closing) return Promise.reject(new TraceClosedError(this.file));
    let line: Buffer;
    try {
      line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return Promise.reject(new Error(`cannot write ${event.type} event to ${this.file}: ${why}`, { cause: error }));
    }
    return new Promise<void>((resolve, reject) => {
      this.batch.push(line);
      this.waiting.push({ resolve, reject });
      // Started after the current burst of emits, which then goes out as one write.
      this.writing ??= Promise.resolve().then(() => this.writeBatches());
    });
  }

  private async writeBatches(): Promise<void> {
    while (this.batch.length > 0) {
      const data = this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch);
      const waiting = this.waiting;
      this.batch = [];
      this.waiting = [];
      try {
        if (this.failure !== undefined) throw this.failure;
        if (data !== undefined) await writeAll(this.handle, data);
        for (const w of waiting) w.resolve();
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        this.failure ??= new Error(`cannot append to trace ${this.file}: ${why}`, { cause: error });
        for (const w of waiting) w.reject(this.failure);
      }
    }
    this.writing = undefined;
  }

  /** Waits for pending appends, flushes to disk and closes. Safe to call twice. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.writing;
      try {
        await this.handle.sync();
      } finally {
        await this.handle.close();
      }
    })();
    return this.closing;
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  // One write(2) in practice; looping only covers a short write, which regular files rarely do.
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * A crash mid-append leaves a last line without its newline. Appending after it would glue the next
 * event onto the fragment, so a torn fragment is cut off (its append() never resolved, so nobody was
 * told it was written); a whole event that only lacks its newline gets one.
 */
async function trimTornTail(file: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r+');
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const tailStart = await lastLineStart(handle, size);
    if (tailStart === size) return;
    const tail = Buffer.alloc(size - tailStart);
    await handle.read(tail, 0, tail.length, tailStart);
    if (typeof parseEventLine(tail.toString('utf8')) === 'string') await handle.truncate(tailStart);
    else await handle.write('\n', size);
  } finally {
    await handle.close();
  }
}

/** The offset just after the file's last newline (0 when there is none). */
async function lastLineStart(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(Math.min(Math.max(size, 1), 64 * 1024));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const length = end - start;
    await handle.read(chunk, 0, length, start);
    const newline = chunk.subarray(0, length).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    end = start;
  }
  return 0;
}

/** Every event in a trace, in order. A torn final line (a crash mid-write) is skipped; a missing file is []. */
export async function readTrace(file: string): Promise<LoopEvent[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const lines = text.split('\n');
  const events: LoopEvent[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const isLast = index === lines.length - 1;
    const parsed = parseEventLine(line);
    if (typeof parsed === 'string') {
      // Only the last line, written without its newline, can be torn by a crash.
      if (isLast) break;
      throw new TraceCorruptError(file, index + 1, parsed);
    }
    if (parsed.type === 'run.started' && (parsed.format ?? 1) > TRACE_FORMAT) {
      throw new TraceCorruptError(
        file,
        index + 1,
        `trace format ${parsed.format}, but this loops reads up to ${TRACE_FORMAT}: use a newer loops`,
      );
    }
    events.push(parsed);
  }
  return events;
}

/** The event, or why the line is not one. */
function parseEventLine(line: string): LoopEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return error instanceof Error ? error.message : 'invalid JSON';
  }
  if (!isEventLike(value)) return 'missing type, loop, run or seq';
  return value;
}

// A structural check of the fields every event has; the body is trusted as written by TraceWriter.
function isEventLike(value: unknown): value is LoopEvent {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.type === 'string' &&
    typeof record.loop === 'string' &&
    typeof record.run === 'string' &&
    typeof record.seq === 'number'
  );
}
