/**
 * Reading a loop's files so that one bad file can only ever fail its own loop: every read has a size
 * limit, is of a regular file only (a FIFO or a device would block the reader forever), stays inside
 * the repository (a symlink may not bring in a file from elsewhere), and is text (no NUL bytes, valid
 * UTF-8). Each refusal is a problem at the file, never an exception.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { DefinitionProblem } from './problems.js';

/** Far beyond any real LOOP.md, SKILL.md, RUBRIC.md or SCRIPT.yaml; they all go into prompts. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

export type TextRead =
  { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'error'; problem: DefinitionProblem };

/**
 * Reads a definition file; a missing file is an answer, any other failure a problem at `file`.
 * `repoRoot` is where the file must really be, symlinks resolved (loading a loop always gives it; a
 * grader re-reading a file of a loop already loaded may not).
 */
export async function readText(absolute: string, file: string, repoRoot?: string): Promise<TextRead> {
  const problem = (message: string, line = 1): TextRead => ({
    kind: 'error',
    problem: { file, line, field: '(file)', message },
  });
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (error) {
    if (isNotFound(error)) {
      // A dangling symlink is not "no file": the author meant something to be there.
      const link = await lstat(absolute).catch(() => undefined);
      return link === undefined
        ? { kind: 'missing' }
        : problem('it is a symlink to a file that does not exist');
    }
    return problem(`could not read it: ${reason(error)}`);
  }
  const root =
    repoRoot === undefined ? undefined : await realpath(repoRoot).catch(() => path.resolve(repoRoot));
  if (root !== undefined && !isInside(root, real)) {
    return problem(
      `it is a symlink to ${real}, outside the repository: loops reads its files only from inside it; copy the file in`,
    );
  }
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; fstat then refuses it.
  let handle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return problem(`could not read it: ${reason(error)}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return problem(`it is ${describeKind(info)}, not a regular file`);
    if (info.size > MAX_DEFINITION_BYTES) return problem(tooBig(info.size));
    // Read at most one byte past the limit, so a file that grows after fstat is still caught.
    const buffer = Buffer.alloc(MAX_DEFINITION_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_DEFINITION_BYTES) return problem(tooBig(length));
    }
    const bytes = buffer.subarray(0, length);
    const nul = bytes.indexOf(0);
    if (nul !== -1) {
      return problem(
        `it is a binary file (a NUL byte at line ${lineAt(bytes, nul)}), not text`,
        lineAt(bytes, nul),
      );
    }
    const decoded = decodeUtf8(bytes);
    if (decoded === undefined) {
      const line = firstBadLine(bytes);
      return problem(`it is not UTF-8 text (an invalid byte at line ${line}): save it as UTF-8`, line);
    }
    return { kind: 'text', text: decoded };
  } catch (error) {
    return problem(`could not read it: ${reason(error)}`);
  } finally {
    await handle.close();
  }
}

/** Whether something (of any kind) is at `absolute`; a symlink counts even when dangling. */
export async function exists(absolute: string): Promise<boolean> {
  try {
    await lstat(absolute);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

/** Sorted names of the folders in `dir`; none when `dir` does not exist. */
export async function listDirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return (
    relative === '' ||
    (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative))
  );
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tooBig(size: number): string {
  const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return `it is ${size > MAX_DEFINITION_BYTES * 2 ? mb(size) : `over ${mb(MAX_DEFINITION_BYTES)}`}; definition files may be at most ${mb(MAX_DEFINITION_BYTES)}`;
}

function describeKind(info: {
  isFIFO(): boolean;
  isDirectory(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isDirectory()) return 'a folder';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a file';
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** The line of the first byte that is not part of a valid UTF-8 sequence. */
function firstBadLine(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const size = sequenceLength(bytes, i);
    if (size === 0) return lineAt(bytes, i);
    i += size;
  }
  return 1;
}

/** Length of the valid UTF-8 sequence at `i`, 0 when it is not one. */
function sequenceLength(bytes: Buffer, i: number): number {
  const lead = bytes[i] ?? 0;
  const continuation = (k: number): boolean => ((bytes[i + k] ?? 0) & 0xc0) === 0x80;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) return continuation(1) && continuation(2) ? 3 : 0;
  if (lead >= 0xf0 && lead <= 0xf4) return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
  return 0;
}
