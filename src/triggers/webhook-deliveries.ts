/**
 * Deliveries a webhook has already taken, so a repeated delivery (a sender's redelivery, a replay of a
 * captured request) starts nothing. GitHub's signature has no timestamp and does not cover the
 * delivery id header, so each taken delivery is remembered by two keys: its id (`id:...`) and a
 * digest of its body (`body:...`). A copy that comes back with the same id, or with the same signed
 * body under another id or none (a replayer who changed the unsigned header), is a duplicate.
 * Bounded: the newest KEEP keys of each hook are kept, in `state/<loop>/webhook-deliveries.json`, so
 * a restart does not forget them.
 *
 * Keys are claimed while their delivery is handled (a second copy arriving meanwhile is a duplicate)
 * and kept once the event was taken (started, queued, or skipped by triage); a delivery whose start
 * was refused (the loop was busy and drops events, loops was shutting down) is released, so the
 * sender's redelivery of it can still run.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { isNotFound } from '../state/errno.js';
import type { StatePaths } from '../state/paths.js';

/** Keys kept per hook (two per delivery); GitHub's redeliveries come within days. */
export const KEEP = 2000;
/** A delivery id is the sender's: anything longer is not one (and is not stored). */
const MAX_ID = 200;

export function deliveriesFile(paths: StatePaths, loop: string): string {
  return path.join(paths.loopDir(loop), 'webhook-deliveries.json');
}

export function isDeliveryId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID && /^[\x21-\x7e]+$/.test(id);
}

interface HookIds {
  /** Oldest first. */
  kept: string[];
  set: Set<string>;
  claimed: Set<string>;
}

export class DeliveryLog {
  private readonly hooks = new Map<string, Promise<HookIds>>();
  private writes = new Map<string, Promise<void>>();

  constructor(
    private readonly paths: StatePaths,
    private readonly limit = KEEP,
  ) {}

  /** Whether any of the keys was taken, or is in hand now. */
  async seen(loop: string, keys: readonly string[]): Promise<boolean> {
    const hook = await this.load(loop);
    return keys.some((key) => hook.set.has(key) || hook.claimed.has(key));
  }

  /** True when every key is new (now claimed); false for a duplicate, taken or in hand. */
  async claim(loop: string, keys: readonly string[]): Promise<boolean> {
    const hook = await this.load(loop);
    if (keys.some((key) => hook.set.has(key) || hook.claimed.has(key))) return false;
    for (const key of keys) hook.claimed.add(key);
    return true;
  }

  /** The event was taken: the keys are kept (and written), and a later copy is a duplicate. */
  async keep(loop: string, keys: readonly string[]): Promise<void> {
    const hook = await this.load(loop);
    for (const key of keys) {
      hook.claimed.delete(key);
      if (hook.set.has(key)) continue;
      hook.kept.push(key);
      hook.set.add(key);
    }
    while (hook.kept.length > this.limit) {
      const gone = hook.kept.shift();
      if (gone !== undefined) hook.set.delete(gone);
    }
    await this.save(loop, hook);
  }

  /** The event was not taken: a redelivery of it may try again. */
  async release(loop: string, keys: readonly string[]): Promise<void> {
    const hook = await this.load(loop);
    for (const key of keys) hook.claimed.delete(key);
  }

  /** Writes in progress, done. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }

  private load(loop: string): Promise<HookIds> {
    let hook = this.hooks.get(loop);
    if (!hook) {
      hook = readIds(deliveriesFile(this.paths, loop), this.limit);
      this.hooks.set(loop, hook);
      hook.catch(() => this.hooks.delete(loop));
    }
    return hook;
  }

  /** One write at a time per hook, each of the whole list (atomic rename): never half-written. */
  private save(loop: string, hook: HookIds): Promise<void> {
    const previous = this.writes.get(loop) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() =>
        writeFileAtomic(
          deliveriesFile(this.paths, loop),
          `${JSON.stringify({ version: 1, ids: hook.kept })}\n`,
        ),
      );
    this.writes.set(loop, next);
    return next;
  }
}

/**
 * The ids on disk; a file that is missing is none, and one that cannot be read as ids is a mistake
 * to report, not to build over (it would forget what it held).
 */
async function readIds(file: string, keep: number): Promise<HookIds> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return { kept: [], set: new Set(), claimed: new Set() };
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${file} is not valid JSON (${error instanceof Error ? error.message : ''}): move it aside`,
      {
        cause: error,
      },
    );
  }
  const ids = typeof raw === 'object' && raw !== null && 'ids' in raw ? raw.ids : undefined;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
    throw new Error(`${file}: "ids" must be a list of strings: move the file aside`);
  const kept = ids.slice(-keep);
  return { kept, set: new Set(kept), claimed: new Set() };
}
