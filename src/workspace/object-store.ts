/**
 * What loops reads of git's objects, each read once: a commit never changes, so neither do its tree
 * and blobs. The protected-file check reads base trees and blobs every iteration; the stall
 * detector reads the tree of each new commit (from its loose object when it can, with no process).
 */
import { gitBytes, gitOk, type PinnedPlace } from './git.js';
import { WorkspaceError } from './errors.js';
import { looseCommitTree } from './git-objects.js';

/** One entry of a commit's tree. */
export interface TreeEntry {
  /** '100644', '100755', '120000' (a symlink), '160000' (a submodule). */
  mode: string;
  oid: string;
  /** '/'-separated, from the repository root. */
  path: string;
}

/** Blobs kept in memory at most: a large base must not fill it. */
const BLOB_CACHE_BYTES = 64 * 1024 * 1024;

export class ObjectStore {
  /** Trees of base commits: read once per run. */
  private readonly trees = new Map<string, TreeEntry[]>();
  /** Commit id → its tree id. */
  private readonly commitTrees = new Map<string, string>();
  private readonly blobCache = new Map<string, Buffer>();
  private blobCacheBytes = 0;

  /** A commit's tree id from its loose object (no process), or undefined when git must be asked. */
  async commitTree(place: PinnedPlace, sha: string): Promise<string | undefined> {
    const known = this.commitTrees.get(sha) ?? (await looseCommitTree(place.commonDir, sha));
    if (known !== undefined) this.commitTrees.set(sha, known);
    return known;
  }

  /** Every file of a commit's tree. */
  async tree(place: PinnedPlace, sha: string): Promise<TreeEntry[]> {
    const known = this.trees.get(sha);
    if (known) return known;
    if (!/^[0-9a-f]{40,64}$/i.test(sha)) throw new WorkspaceError(`${sha} is not a commit id`);
    const out = await gitOk(place, ['ls-tree', '-r', '-z', '--full-tree', sha], `reading the tree of ${sha}`);
    const entries: TreeEntry[] = [];
    for (const record of out.split('\0')) {
      // "<mode> <type> <oid>\t<path>"
      const tab = record.indexOf('\t');
      if (tab < 0) continue;
      const [mode = '', , oid = ''] = record.slice(0, tab).split(' ');
      entries.push({ mode, oid, path: record.slice(tab + 1) });
    }
    this.trees.set(sha, entries);
    return entries;
  }

  /** The contents of blobs, by id, in one `git cat-file --batch` for those not read before. */
  async blobs(place: PinnedPlace, oids: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    const wanted = [...new Set(oids)].filter((oid) => {
      const cached = this.blobCache.get(oid);
      if (cached) found.set(oid, cached);
      return !cached;
    });
    if (wanted.length === 0) return found;
    const out = await gitBytes(place, ['cat-file', '--batch'], {
      input: wanted.map((oid) => `${oid}\n`).join(''),
    });
    if (out.exitCode !== 0) throw new WorkspaceError(`reading blobs failed: ${out.stderr.trim()}`);
    let at = 0;
    for (const oid of wanted) {
      // "<oid> <type> <size>\n<content>\n", or "<oid> missing\n".
      const end = out.stdout.indexOf(0x0a, at);
      if (end < 0) break;
      const header = out.stdout.toString('latin1', at, end).split(' ');
      at = end + 1;
      if (header[1] === 'missing' || header[2] === undefined) continue;
      const size = Number(header[2]);
      const content = Buffer.from(out.stdout.subarray(at, at + size));
      at += size + 1;
      found.set(oid, content);
      if (this.blobCacheBytes + size <= BLOB_CACHE_BYTES) {
        this.blobCache.set(oid, content);
        this.blobCacheBytes += size;
      }
    }
    return found;
  }
}
