/**
 * File I/O that opens what it checked. resolveInWorktree checks a path, but the agent's shell can
 * swap a folder for a symlink between that check and the open, so the check is made again on the
 * open descriptor: where /proc/self/fd/N really points (Linux). Writes go through a descriptor of
 * the target's folder: names are looked up relative to it (`/proc/self/fd/N/name`, Node's stand-in
 * for openat), a temporary file is written there and renamed over the target, so nothing created,
 * written or renamed can land outside even if the path is swapped mid-write. Only regular files are
 * read or written: a FIFO is opened without blocking and refused, a device or socket is refused
 * before a byte is read, reads are capped, and a file with more than one hard link is never written
 * (its other name could be anywhere). Where /proc/self/fd is missing (macOS), the descriptor is
 * compared with a fresh look-up of the path instead, which narrows the window but cannot close it.
 */
import { constants, existsSync, type Stats } from 'node:fs';
import { mkdir, open, readlink, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkPlace, PathRefusedError, resolveInWorktree, type Intent } from './paths.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** Whether descriptors can be asked where they point, and opened relative to (the openat stand-in). */
const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');

/** A file the tools will not read or write, for a reason that is not confinement: the message says what to do. */
export class FileKindError extends Error {
  constructor(
    message: string,
    readonly kind: 'directory' | 'too-large',
  ) {
    super(message);
    this.name = 'FileKindError';
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && 'code' in error && codes.includes(String(error.code));
}

/** What a non-regular file is, in words. */
function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

function special(shown: string, what: string): PathRefusedError {
  return new PathRefusedError(
    `refused: ${shown} is ${what}; the file tools read and write regular files only`,
    shown,
    'special',
  );
}

function swapped(shown: string): PathRefusedError {
  return new PathRefusedError(
    `refused: ${shown} changed into a symlink while it was being opened; try again with the real path`,
    shown,
    'changed',
  );
}

/** Opens `file` (a checked path), turning the errors an attack produces into refusals. */
async function openChecked(file: string, flags: number, shown: string, mode?: number): Promise<FileHandle> {
  try {
    return await open(file, flags, mode);
  } catch (error) {
    // O_NOFOLLOW on a name that is now a symlink; ENXIO: a socket, or a FIFO with no reader.
    if (isErrno(error, 'ELOOP')) throw swapped(shown);
    if (isErrno(error, 'ENXIO', 'EOPNOTSUPP')) throw special(shown, 'a socket or a FIFO');
    throw error;
  }
}

/** Where an open descriptor really is: its path from /proc, or (without /proc) a fresh look-up checked against it. */
async function whereIs(handle: FileHandle, checked: string, shown: string): Promise<string> {
  if (PROC_FD) return readlink(`/proc/self/fd/${handle.fd}`);
  const [opened, named] = await Promise.all([handle.stat(), stat(checked)]);
  if (opened.dev !== named.dev || opened.ino !== named.ino) throw swapped(shown);
  return realpath(checked);
}

/** A path that names `name` inside the folder a descriptor holds, whatever has happened to its path since. */
function inDir(dir: FileHandle, dirPath: string, name: string): string {
  return PROC_FD ? `/proc/self/fd/${dir.fd}/${name}` : path.join(dirPath, name);
}

/** Reads up to `max` bytes, and one more to know whether there were more. */
async function readCapped(handle: FileHandle, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total <= max) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, max + 1 - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
  }
  return total > max ? undefined : Buffer.concat(chunks, total);
}

/**
 * The bytes of a regular file inside the worktree, at most `maxBytes` of them. Refuses (throws) for
 * a place outside or off limits, a directory, a FIFO, a device, a socket, or a file that is larger.
 */
export async function readConfined(worktree: string, p: string, maxBytes: number): Promise<Buffer> {
  const root = await realpath(worktree);
  const file = await resolveInWorktree(worktree, p, 'read');
  return readChecked(root, file, p, maxBytes);
}

/** readConfined for a path already resolved inside `root` (search reads many of them). */
export async function readChecked(
  root: string,
  file: string,
  shown: string,
  maxBytes: number,
): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused once fstat says what it is.
  const handle = await openChecked(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, shown);
  try {
    checkPlace(root, await whereIs(handle, file, shown), shown, 'read');
    const info = await handle.stat();
    if (info.isDirectory()) {
      throw new FileKindError(`${shown} is a directory; use list_files to see what it holds`, 'directory');
    }
    if (!info.isFile()) throw special(shown, kindOf(info));
    const tooLarge = (size: string): FileKindError =>
      new FileKindError(
        `${shown} is too large to read (${size} bytes, the limit is ${maxBytes}); use search to find the part you need`,
        'too-large',
      );
    if (info.size > maxBytes) throw tooLarge(String(info.size));
    const bytes = await readCapped(handle, maxBytes);
    if (bytes === undefined) throw tooLarge(`more than ${maxBytes}`);
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * A descriptor of the folder `dir` (a real path inside `root`), making the folders that are missing
 * one by one, each relative to its checked parent, so no folder is made outside however the path
 * is swapped meanwhile.
 */
async function openFolder(root: string, dir: string, shown: string, intent: Intent): Promise<FileHandle> {
  const missing: string[] = [];
  let at = dir;
  let handle: FileHandle | undefined;
  while (handle === undefined) {
    try {
      handle = await open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (error) {
      if (isErrno(error, 'ELOOP')) throw swapped(shown);
      if (!isErrno(error, 'ENOENT') || at === root || path.dirname(at) === at) throw error;
      missing.unshift(path.basename(at));
      at = path.dirname(at);
    }
  }
  try {
    checkPlace(root, await whereIs(handle, at, shown), shown, intent);
    for (const name of missing) {
      const next = inDir(handle, at, name);
      await mkdir(next).catch((error: unknown) => {
        if (!isErrno(error, 'EEXIST')) throw error;
      });
      const child = await openChecked(next, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, shown);
      await handle.close();
      handle = child;
      at = path.join(at, name);
      checkPlace(root, await whereIs(handle, at, shown), shown, intent);
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface WriteOutcome {
  /** False when an existing file was replaced. */
  created: boolean;
}

/**
 * Writes `content` as the whole of a file inside the worktree, creating missing folders: the tools'
 * one way to write. Refuses a place outside, off limits or protected, a target that is not a regular
 * file, and a file with more than one hard link. Atomic: a temporary file beside the target is
 * renamed over it, keeping the target's permissions, so a crash leaves the old or the new content.
 */
export async function writeConfined(
  worktree: string,
  p: string,
  content: string | Uint8Array,
  protectedGlobs: readonly string[],
  options: { restoring?: boolean; mode?: number } = {},
): Promise<WriteOutcome> {
  const intent: Intent = options.restoring ? 'restore' : 'write';
  const root = await realpath(worktree);
  const file = await resolveInWorktree(worktree, p, intent, protectedGlobs);
  const name = path.basename(file);
  const dirPath = path.dirname(file);
  const dir = await openFolder(root, dirPath, p, intent);
  try {
    const target = inDir(dir, dirPath, name);
    let mode = options.mode ?? 0o666;
    let created = true;
    const existing = await openChecked(target, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, p).catch(
      (error: unknown) => {
        if (isErrno(error, 'ENOENT')) return undefined;
        throw error;
      },
    );
    if (existing !== undefined) {
      try {
        checkPlace(root, await whereIs(existing, file, p), p, intent, protectedGlobs);
        const info = await existing.stat();
        if (info.isDirectory()) {
          throw new FileKindError(`${p} is a directory; write_file writes files`, 'directory');
        }
        if (!info.isFile()) throw special(p, kindOf(info));
        // Restoring renames a file of its own into place, so the other names keep their content.
        if (info.nlink > 1 && !options.restoring) {
          throw new PathRefusedError(
            `refused: ${p} has ${info.nlink} hard links, so writing it would change a file elsewhere too; ` +
              'delete it first if you mean to replace it with a file of its own',
            p,
            'linked',
          );
        }
        mode = options.mode ?? info.mode & 0o7777;
        created = false;
      } finally {
        await existing.close();
      }
    }
    const tmpName = `.${name}.loops-${randomBytes(6).toString('hex')}.tmp`;
    const tmp = inDir(dir, dirPath, tmpName);
    const out = await openChecked(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, p, mode);
    try {
      try {
        checkPlace(root, await whereIs(out, path.join(dirPath, tmpName), p), p, intent);
        await out.writeFile(content);
        // The umask narrowed the mode given to open; an existing file keeps exactly its own.
        if (!created || options.mode !== undefined) await out.chmod(mode);
      } finally {
        await out.close();
      }
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    return { created };
  } finally {
    await dir.close();
  }
}

/**
 * The bytes of `file` when it is a regular file (not a symlink, FIFO or device); undefined when it is
 * missing or is something else. For loops' own reads of protected files, whose folders it has checked.
 */
export async function readRegular(file: string): Promise<Buffer | undefined> {
  const handle = await open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const info = await handle.stat();
    return info.isFile() ? await handle.readFile() : undefined;
  } finally {
    await handle.close();
  }
}
