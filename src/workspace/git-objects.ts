/**
 * Reading what git keeps in plain files, without starting a process: HEAD of a worktree, and the
 * tree of a commit that is still a loose object (every commit loops makes is, as loops never runs
 * gc). A process per answer is what an iteration spends most of its time on with many loops at
 * once; each of these reads is a file or two. Whenever a file does not say plainly, the caller
 * asks git instead; a loose object is used only when its content hashes to its name, so a file
 * planted in the object store cannot make loops read a different tree.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import type { PinnedPlace } from './git.js';

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** HEAD of a worktree from its HEAD file and the shared refs (loose, then packed); undefined when unsure. */
export async function readHead(place: PinnedPlace): Promise<string | undefined> {
  const head = (await readFile(path.join(place.gitDir, 'HEAD'), 'utf8')).trim();
  if (OID.test(head)) return head;
  const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
  if (ref === undefined || ref.split('/').includes('..')) return undefined;
  const loose = await readFile(path.join(place.commonDir, ref), 'utf8').catch(() => undefined);
  if (loose !== undefined) {
    const sha = loose.trim();
    return OID.test(sha) ? sha : undefined;
  }
  const packed = await readFile(path.join(place.commonDir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    const [sha, name] = line.split(' ');
    if (name === ref && sha !== undefined && OID.test(sha)) return sha;
  }
  return undefined;
}

/** The tree of a commit stored as a loose object, or undefined (packed, missing, or not plainly a commit). */
export async function looseCommitTree(commonDir: string, sha: string): Promise<string | undefined> {
  if (!OID.test(sha)) return undefined;
  const file = path.join(commonDir, 'objects', sha.slice(0, 2), sha.slice(2));
  const stored = await readFile(file).catch(() => undefined);
  if (stored === undefined) return undefined;
  let raw: Buffer;
  try {
    raw = inflateSync(stored);
  } catch {
    return undefined;
  }
  if (
    createHash(sha.length === 40 ? 'sha1' : 'sha256')
      .update(raw)
      .digest('hex') !== sha
  )
    return undefined;
  const nul = raw.indexOf(0);
  if (nul < 0 || !raw.subarray(0, nul).toString('latin1').startsWith('commit ')) return undefined;
  const tree = /^tree ([0-9a-f]{40}(?:[0-9a-f]{24})?)\n/.exec(
    raw.subarray(nul + 1, nul + 1 + 80).toString('latin1'),
  );
  return tree?.[1];
}
