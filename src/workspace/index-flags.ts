/**
 * Index entries marked assume-unchanged or skip-worktree: git add, diff and status skip them, so a
 * change hidden that way would never be committed or seen. Read from the index file itself (no
 * process per iteration); loops clears the flags only when there are any.
 * Format: https://git-scm.com/docs/index-format (versions 2, 3 and 4).
 */
import { readFile } from 'node:fs/promises';

export interface HiddenEntries {
  assumeUnchanged: string[];
  skipWorktree: string[];
}

const ASSUME_VALID = 0x8000;
const EXTENDED = 0x4000;
const SKIP_WORKTREE = 0x4000;
const NAME_MASK = 0x0fff;

/** git's variable-length offset (index v4's prefix length): returns [value, next position]. */
function varint(buf: Buffer, at: number): [number, number] {
  let i = at;
  let c = buf[i++] ?? 0;
  let value = c & 127;
  while (c & 128) {
    c = buf[i++] ?? 0;
    value = ((value + 1) << 7) + (c & 127);
  }
  return [value, i];
}

/**
 * The entries of an index file that carry either flag. A missing index has none; an index this
 * cannot read is an error (loops then lets git clear every flag instead of trusting a guess).
 */
export async function hiddenEntries(indexFile: string, hashBytes = 20): Promise<HiddenEntries> {
  const buf = await readFile(indexFile).catch((error: unknown) => {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  });
  const found: HiddenEntries = { assumeUnchanged: [], skipWorktree: [] };
  if (buf === undefined) return found;
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'DIRC')
    throw new Error(`${indexFile} is not a git index`);
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) throw new Error(`${indexFile}: index version ${version} is not known`);
  const count = buf.readUInt32BE(8);
  let at = 12;
  let previous: Buffer = Buffer.alloc(0);
  for (let n = 0; n < count; n++) {
    const start = at;
    const flagsAt = at + 40 + hashBytes;
    if (flagsAt + 2 > buf.length) throw new Error(`${indexFile} ends inside entry ${n + 1}`);
    const flags = buf.readUInt16BE(flagsAt);
    at = flagsAt + 2;
    let extended = 0;
    if (version >= 3 && flags & EXTENDED) {
      extended = buf.readUInt16BE(at);
      at += 2;
    }
    let name: Buffer;
    if (version === 4) {
      const [strip, next] = varint(buf, at);
      const end = buf.indexOf(0, next);
      if (end < 0 || strip > previous.length) throw new Error(`${indexFile}: entry ${n + 1} is malformed`);
      name = Buffer.concat([previous.subarray(0, previous.length - strip), buf.subarray(next, end)]);
      at = end + 1;
    } else {
      const length = flags & NAME_MASK;
      const end = length < NAME_MASK ? at + length : buf.indexOf(0, at);
      if (end < 0 || end > buf.length) throw new Error(`${indexFile}: entry ${n + 1} is malformed`);
      name = buf.subarray(at, end);
      // Entries are NUL-padded to a multiple of eight bytes (at least one NUL).
      at = start + ((end - start + 8) & ~7);
    }
    previous = name;
    if (flags & ASSUME_VALID) found.assumeUnchanged.push(name.toString('utf8'));
    if (extended & SKIP_WORKTREE) found.skipWorktree.push(name.toString('utf8'));
  }
  // A split index ("link") keeps entries in a shared file and may flag them here without names;
  // a sparse index ("sdir") folds skipped folders into one entry. Neither is read: the caller
  // clears the flags on every path instead.
  while (at + 8 <= buf.length - hashBytes) {
    const signature = buf.toString('latin1', at, at + 4);
    if (signature === 'link' || signature === 'sdir') {
      throw new Error(`${indexFile} is a split or sparse index`);
    }
    at += 8 + buf.readUInt32BE(at + 4);
  }
  return found;
}
