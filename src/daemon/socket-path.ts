/**
 * Where the owner of a state folder listens: `state/loops.sock`, a filesystem socket (never an
 * abstract one, which any process in the network namespace could reach). A unix socket's path is
 * limited to ~104-108 bytes; when the state folder's path is too long, the socket goes to a 0700
 * folder named by a hash of the state path under $XDG_RUNTIME_DIR (or /tmp). Both places are out
 * of a run's sight: the sandbox hides state/, mounts a private /tmp and an empty /run (and the
 * fallback folder is hidden by name too: process/run-sandbox.ts).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** macOS allows 104 bytes with the terminating NUL, Linux 108: stay under both. */
export const MAX_SOCKET_PATH_BYTES = 100;

export const SOCKET_NAME = 'loops.sock';
/** Written by the owner once it listens: its pid and socket, so clients know it serves. */
export const OWNER_INFO_NAME = 'owner-socket.json';

export interface SocketLocation {
  path: string;
  /** Set when the socket is in the fallback folder rather than in state/. */
  fallbackDir?: string;
}

/** The fallback folder of a state folder (it may not exist). */
export function fallbackSocketDir(stateRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(path.resolve(stateRoot)).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const runtime = env.XDG_RUNTIME_DIR;
  // Only an absolute runtime folder; a relative one would depend on the cwd of each process.
  const base = runtime !== undefined && path.isAbsolute(runtime) ? runtime : '/tmp';
  return path.join(base, `loops-${uid}-${hash}`);
}

export function socketLocation(stateRoot: string, env: NodeJS.ProcessEnv = process.env): SocketLocation {
  const inState = path.join(path.resolve(stateRoot), SOCKET_NAME);
  if (Buffer.byteLength(inState) <= MAX_SOCKET_PATH_BYTES) return { path: inState };
  const dir = fallbackSocketDir(stateRoot, env);
  return { path: path.join(dir, SOCKET_NAME), fallbackDir: dir };
}

/**
 * Makes (or checks) the fallback folder: a real folder, not a symlink, ours, and reachable by no one
 * else. Another user could otherwise make it first and read or replace the socket.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  checkPrivateDir(dir);
}

export function checkPrivateDir(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder (a symlink?); remove it`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (st.uid !== uid) throw new Error(`${dir} belongs to another user (uid ${st.uid}); remove it`);
  if ((st.mode & 0o077) !== 0)
    throw new Error(`${dir} can be reached by others (mode ${(st.mode & 0o777).toString(8)}); remove it`);
}
