/**
 * Whole-file writes that are never seen half-done: a reader finds the old content or the new, and a
 * crash (or a full disk) leaves the target as it was.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound } from './errno.js';

/** Random once per process, then a counter: unique per write without asking for entropy each time. */
const PROCESS_TAG = `${process.pid}-${randomBytes(4).toString('hex')}`;
let writes = 0;

/** Temp files end in `.tmp` so the state folder's .gitignore (`*.tmp`) keeps crash leftovers out of git. */
export function tempPathFor(file: string): string {
  const unique = `${PROCESS_TAG}-${(writes++).toString(36)}`;
  return path.join(path.dirname(file), `.${path.basename(file)}.${unique}.tmp`);
}

export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  // A unique temp name per write, unlike steno's fixed `.name.tmp`: two writers never share a temp file.
  const temp = tempPathFor(file);
  try {
    // The folder is made only when it is missing: most writes replace a file that is already there.
    const handle = await open(temp, 'wx').catch(async (error: unknown) => {
      if (!isNotFound(error)) throw error;
      await mkdir(dir, { recursive: true });
      return open(temp, 'wx');
    });
    try {
      await handle.writeFile(data, 'utf8');
      // Without this, a power loss after the rename can leave an empty or partial target.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes the rename itself durable. Some platforms cannot open or fsync a directory; that is not an error. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: the data is already in place; only its durability across a power loss is at stake.
  } finally {
    await handle?.close();
  }
}
