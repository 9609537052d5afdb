/**
 * A run's view of MEMORY.md. The file is shared: a person may edit it while a run is going, and two
 * runs of one loop (concurrency > 1) both write it. So a run never overwrites it from a copy read at
 * the start: each save re-reads the file and applies only what this run added since its last save
 * (progress lines, corrections) or now sets (feedback, handoff), one save at a time per file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readMemory, writeMemory, type MemoryDoc } from '../../state/memory.js';
import { writeFileAtomic } from '../../state/atomic.js';
import { withLock } from '../../workspace/mutex.js';

interface Pending {
  progress: string[];
  corrections: string[];
  feedback?: string;
  /** undefined: leave as is; null: remove the handoff. */
  handoff?: string | null;
}

export class MemoryKeeper {
  private pending: Pending = { progress: [], corrections: [] };

  private constructor(
    readonly path: string,
    private doc: MemoryDoc,
  ) {}

  static async open(path: string, fresh: () => MemoryDoc): Promise<MemoryKeeper> {
    return new MemoryKeeper(path, (await readMemory(path)) ?? fresh());
  }

  /** The memory as the next prompt should see it: the file as last read, with this run's changes. */
  get view(): MemoryDoc {
    return apply(this.doc, this.pending);
  }

  addProgress(line: string): void {
    this.pending.progress.push(line);
  }

  addCorrection(text: string): void {
    this.pending.corrections.push(text);
  }

  setFeedback(text: string): void {
    this.pending.feedback = text;
  }

  setHandoff(text: string | undefined): void {
    this.pending.handoff = text ?? null;
  }

  /** Merges this run's changes into the file as it is now; returns the bytes written. */
  async save(maxBytes: number): Promise<number> {
    return withLock(`memory:${this.path}`, async () => {
      const current = (await readMemory(this.path)) ?? this.doc;
      const merged = apply(current, this.pending);
      const bytes = await writeMemory(this.path, merged, maxBytes);
      this.doc = merged;
      this.pending = { progress: [], corrections: [] };
      return bytes;
    });
  }
}

function apply(doc: MemoryDoc, p: Pending): MemoryDoc {
  const next: MemoryDoc = {
    ...doc,
    progress: [...doc.progress, ...p.progress],
    corrections: [...doc.corrections, ...p.corrections],
  };
  if (p.feedback !== undefined) next.lastFeedback = p.feedback;
  if (p.handoff === null) delete next.handoff;
  else if (p.handoff !== undefined) next.handoff = p.handoff;
  return next;
}

/** Copies MEMORY.md beside the run's summary (atomically); a loop with no memory yet leaves none. */
export async function keepMemoryAtStart(memory: string, copy: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(memory, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await mkdir(path.dirname(copy), { recursive: true });
  await writeFileAtomic(copy, text);
}
