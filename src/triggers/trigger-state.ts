/**
 * Small JSON files a trigger keeps in its loop's state folder (`state/NAME/cron.json`,
 * `state/NAME/goal.json`), written whole and atomically so a crash leaves the old file or the new.
 * A file that is unreadable is reported and treated as absent: a trigger starts over rather than stops.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { writeFileAtomic } from '../state/atomic.js';
import { isNotFound } from '../state/errno.js';
import type { StatePaths } from '../state/paths.js';

export function triggerFile(paths: StatePaths, loop: string, name: 'cron' | 'goal'): string {
  return path.join(paths.loopDir(loop), `${name}.json`);
}

export async function readTriggerState<T>(
  file: string,
  schema: z.ZodType<T>,
  report: (error: unknown) => void,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!isNotFound(error)) report(error);
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    report(
      new Error(
        `${file}: invalid JSON (${error instanceof Error ? error.message : String(error)}); starting over`,
      ),
    );
    return undefined;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    report(
      new Error(`${file}: unexpected shape (${parsed.error.issues[0]?.message ?? 'unknown'}); starting over`),
    );
    return undefined;
  }
  return parsed.data;
}

export function writeTriggerState(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Runs writes one after another (the last state wins on disk) and lets tests wait for them. */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly report: (error: unknown) => void) {}

  push(write: () => Promise<void>): void {
    this.tail = this.tail.then(write).catch((error: unknown) => this.report(error));
  }

  settled(): Promise<void> {
    return this.tail;
  }
}
