/**
 * Instructions a person gave a loop with no run in flight. They wait in `state/<loop>/pending.json`
 * (written atomically, so a quit or a crash leaves the old list or the new, never half of one) and the
 * next run of the loop starts with them, also after loops was quit and opened again.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { isNotFound } from '../state/errno.js';
import type { StatePaths } from '../state/paths.js';

interface PendingFile {
  instructions: string[];
}

export class PendingInstructions {
  private readonly byLoop = new Map<string, string[]>();
  /** Writes are chained so the file always ends as the last state in memory. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(private readonly paths: StatePaths) {}

  static async load(paths: StatePaths, loops: readonly string[]): Promise<PendingInstructions> {
    const pending = new PendingInstructions(paths);
    for (const loop of loops) {
      if (!isStateName(loop)) continue; // a folder name state/ cannot hold; its loop is invalid anyway
      const texts = await readPending(pending.file(loop));
      if (texts.length > 0) pending.byLoop.set(loop, texts);
    }
    return pending;
  }

  file(loop: string): string {
    return path.join(this.paths.loopDir(loop), 'pending.json');
  }

  entries(): Array<{ loop: string; texts: string[] }> {
    return [...this.byLoop].map(([loop, texts]) => ({ loop, texts: [...texts] }));
  }

  /** Keeps one more instruction; resolves once it is on disk. */
  add(loop: string, text: string): Promise<void> {
    this.byLoop.set(loop, [...(this.byLoop.get(loop) ?? []), text]);
    return this.persist(loop);
  }

  /** Hands the instructions to a run starting now and forgets them; `written` once off the disk too. */
  take(loop: string): { texts: string[]; written: Promise<void> } {
    const texts = this.byLoop.get(loop) ?? [];
    if (texts.length === 0) return { texts: [], written: Promise.resolve() };
    this.byLoop.delete(loop);
    return { texts, written: this.persist(loop) };
  }

  /** Every write asked for so far has finished (or failed and been reported). */
  async settled(): Promise<void> {
    await this.writes.catch(() => undefined);
  }

  private persist(loop: string): Promise<void> {
    const file = this.file(loop);
    const write = async (): Promise<void> => {
      const texts = this.byLoop.get(loop) ?? [];
      if (texts.length === 0) await rm(file, { force: true });
      else
        await writeFileAtomic(
          file,
          `${JSON.stringify({ instructions: texts } satisfies PendingFile, null, 2)}\n`,
        );
    };
    const next = this.writes.catch(() => undefined).then(write);
    this.writes = next;
    return next;
  }
}

function isStateName(loop: string): boolean {
  return /^[a-z0-9]+(-[a-z0-9]+)*$/.test(loop) && loop.length <= 64;
}

async function readPending(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(
      `${file}: not valid JSON; fix or remove it (it holds instructions kept for the next run)`,
    );
  }
  const list = (parsed as Partial<PendingFile> | null)?.instructions;
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string'))
    throw new Error(`${file}: expected {"instructions": [strings]}; fix or remove it`);
  return list;
}
