/**
 * Whole-file writes that are never seen half-done: a reader finds the old content or the new, and a
 * crash (or a full disk) leaves the target as it was.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Temp files end in `.tmp` so the state folder's .gitignore (`*.tmp`) keeps crash leftovers out of git. */
export function tempPathFor(file: string): string {
  const unique = `${process.pid}-${randomBytes(6).toString('hex')}`;
  return path.join(path.dirname(file), `.${path.basename(file)}.${unique}.tmp`);
}

export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  // A unique temp name per write, unlike steno's fixed `.name.tmp`: two writers never share a temp file.
  const temp = tempPathFor(file);
  try {
    const handle = await open(temp, 'wx');
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
