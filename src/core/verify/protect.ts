/**
 * What the agent may read but never write: the graders' own inputs. An agent that can edit its checks
 * can pass them without doing the work, so the tool layer refuses writes to
 *   - the loop's LOOP.md (where the graders are defined) and RUBRIC.md, and any rubric a grader names;
 *   - every path a grader lists under `protect:` (globs relative to the repository root);
 *   - a command or metric grader's own scripts: each path-like word of its command that names a file
 *     in the repository (`node scripts/check.js` protects scripts/check.js);
 *   - for a command that runs a package script (`npm test`, `yarn lint`, `bun run bench`) or a JS
 *     test runner (`npx vitest`): the runners' and package managers' config files (whether or not the
 *     base has them: one added is as good as one rewritten), and the files the scripts name;
 *   - loops' own folders, state/ and .loops/.
 * package.json itself stays writable (its dependencies are legitimate work); instead the scripts a
 * grader runs, and the runners' config keys, are guarded as `package.json#scripts.NAME` and
 * `package.json#jest` entries: a glob that matches no file, which restoreProtected puts back.
 * Paths are relative to the repository root, which is also the worktree's root.
 */
import { lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import picomatch from 'picomatch';
import type { LoopDefinition } from '../definition/schema.js';
import type { TreeEntry, Worktrees } from '../../workspace/worktrees.js';
import { readRegular, writeConfined } from '../../tools/confined-io.js';
import { commandProtects, isRecord, PACKAGE_KEY, parsePackage } from './grader-inputs.js';

/** loops' own folders in a worktree: its record (which holds holdout findings) and its worktrees. */
const LOOPS_OWN = ['state/**', '.loops/**'];

/** Globs (relative to the repository root) the agent's tools must not write; `root` is the worktree. */
export async function protectedPaths(def: LoopDefinition, root: string): Promise<string[]> {
  const loopDir = `loops/${def.name}`;
  const paths = [`${loopDir}/LOOP.md`, `${loopDir}/RUBRIC.md`, ...LOOPS_OWN];
  if (def.rubric) paths.push(def.rubric.path);
  for (const grader of def.verify) {
    paths.push(...grader.protect);
    if ('rubric' in grader) paths.push(path.posix.normalize(`${loopDir}/${grader.rubric}`));
    if ('command' in grader) paths.push(...(await commandProtects(grader.command, root)));
    if ('metric' in grader) paths.push(...(await commandProtects(grader.metric.command, root)));
  }
  return [...new Set(paths)];
}

/**
 * The tools refuse writes to protected files, but a shell command can still change them. Before the
 * graders run, every protected file is compared byte by byte with the run's base commit (the blob
 * read from the base, the file read from disk), so no index flag (assume-unchanged, skip-worktree)
 * and no replace ref hides a change; one that differs is put back from the base (deleted when the
 * base had none), and so is any guarded package.json entry. Replace refs made during the run are
 * deleted, since they would reach the user's repository. Returns what was restored or deleted.
 */
export async function restoreProtected(
  worktrees: Worktrees,
  worktree: string,
  baseSha: string,
  globs: readonly string[],
): Promise<string[]> {
  const fileGlobs = globs.filter((each) => !PACKAGE_KEY.test(each));
  const restored: string[] = [];
  if (fileGlobs.length > 0) {
    const isProtected = picomatch(fileGlobs, { dot: true });
    const base = new Map(
      (await worktrees.tree(worktree, baseSha))
        .filter((entry) => entry.mode !== '160000' && isProtected(entry.path))
        .map((entry) => [entry.path, entry]),
    );
    // Files on disk, not git's view of them: a file the agent added and also ignored still counts.
    const onDisk = await protectedOnDisk(worktree, fileGlobs, isProtected);
    const candidates = [...new Set([...base.keys(), ...onDisk])].sort();
    const blobs = await worktrees.blobs(
      worktree,
      [...base.values()].map((entry) => entry.oid),
    );
    for (const file of candidates) {
      const entry = base.get(file);
      const content = entry === undefined ? undefined : blobs.get(entry.oid);
      if (entry !== undefined && content === undefined) continue; // the base itself lacks it: nothing to compare
      if (await matchesBase(worktree, file, entry, content)) continue;
      await putBack(worktree, file, entry, content);
      restored.push(file);
    }
  }
  restored.push(...(await restorePackageEntries(worktree, baseSha, globs, worktrees)));
  for (const ref of await worktrees.dropNewReplaceRefs())
    restored.push(`${ref} (a git replace ref, deleted)`);
  return restored;
}

/**
 * Every non-folder on disk (files, symlinks, anything else) that a protected glob matches, found by
 * walking only the folders the globs can reach (the part of each before its first wildcard), never
 * through a symlink, never into .git or node_modules.
 */
async function protectedOnDisk(
  root: string,
  globs: readonly string[],
  isProtected: (file: string) => boolean,
): Promise<string[]> {
  const bases = [...new Set(globs.map((each) => picomatch.scan(each).base.replace(/\/+$/, '')))].sort();
  // A base inside another is walked with it.
  const roots = bases.filter(
    (base, i) => !bases.slice(0, i).some((outer) => outer === '' || base.startsWith(`${outer}/`)),
  );
  const found: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : path.join(root, rel);
    const info = await lstat(abs).catch(() => undefined);
    if (info === undefined) return;
    if (!info.isDirectory()) {
      if (isProtected(rel)) found.push(rel);
      return;
    }
    for (const entry of await readdir(abs, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && (entry.name === '.git' || entry.name === 'node_modules')) continue;
      if (rel === '' && entry.name === '.git') continue;
      await visit(rel === '' ? entry.name : `${rel}/${entry.name}`);
    }
  };
  for (const base of roots) {
    if (base.split('/').includes('..')) continue;
    await visit(base);
  }
  return found;
}

/** Whether the worktree's `file` is exactly the base's entry (undefined: the base had no such file). */
async function matchesBase(
  root: string,
  file: string,
  entry: TreeEntry | undefined,
  content: Buffer | undefined,
): Promise<boolean> {
  const abs = path.join(root, file);
  if (!(await realFolders(root, file))) return false;
  const info = await lstat(abs).catch(() => undefined);
  if (entry === undefined || content === undefined) return info === undefined;
  if (info === undefined) return false;
  if (entry.mode === '120000') {
    return info.isSymbolicLink() && Buffer.from(await readlink(abs, 'buffer')).equals(content);
  }
  if (!info.isFile() || (entry.mode === '100755') !== ((info.mode & 0o111) !== 0)) return false;
  const bytes = await readRegular(abs);
  return bytes !== undefined && bytes.equals(content);
}

/** Whether every folder on the way to `file` is a real folder (not a symlink, not a file), or missing. */
async function realFolders(root: string, file: string): Promise<boolean> {
  const parts = file.split('/').slice(0, -1);
  let at = root;
  for (const part of parts) {
    at = path.join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (info === undefined) return true;
    if (!info.isDirectory()) return false;
  }
  return true;
}

/**
 * Puts `file` back as the base had it (or removes it). Whatever the agent put on the way (a symlink
 * or a file where the base had a folder, a folder or a symlink where it had a file) is removed
 * first, so the write lands on the path itself, inside the worktree, never through a link.
 */
async function putBack(
  root: string,
  file: string,
  entry: TreeEntry | undefined,
  content: Buffer | undefined,
): Promise<void> {
  const parts = file.split('/');
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = path.join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (info === undefined) break;
    if (!info.isDirectory()) await rm(at, { force: true });
  }
  const abs = path.join(root, file);
  const info = await lstat(abs).catch(() => undefined);
  if (info !== undefined && (entry === undefined || !info.isFile() || entry.mode === '120000')) {
    await rm(abs, { recursive: true, force: true });
  }
  if (entry === undefined || content === undefined) return;
  if (entry.mode === '120000') {
    await mkdir(path.dirname(abs), { recursive: true });
    await symlink(content.toString('utf8'), abs);
    return;
  }
  await writeConfined(root, file, content, [], {
    restoring: true,
    mode: entry.mode === '100755' ? 0o755 : 0o644,
  });
}

/** `scripts.test:unit` → ['scripts', 'test:unit'] (a script's name may hold dots); `jest` → ['jest']. */
function keyPath(entry: string): [string] | [string, string] {
  return entry.startsWith('scripts.') ? ['scripts', entry.slice('scripts.'.length)] : [entry];
}

function valueAt(pkg: Record<string, unknown>, key: [string] | [string, string]): unknown {
  const [first, second] = key;
  if (second === undefined) return pkg[first];
  const inner = pkg[first];
  return isRecord(inner) ? inner[second] : undefined;
}

/** Sets (or, for undefined, removes) the entry, keeping its place among its siblings. */
function setAt(pkg: Record<string, unknown>, key: [string] | [string, string], value: unknown): void {
  const [first, second] = key;
  let target = pkg;
  let name = first;
  if (second !== undefined) {
    const inner = pkg[first];
    if (!isRecord(inner)) {
      if (value === undefined) return;
      pkg[first] = {};
    }
    target = pkg[first] as Record<string, unknown>;
    name = second;
  }
  if (value === undefined) delete target[name];
  else target[name] = value;
}

/** package.json as the file was written: its indentation, line endings, final newline and BOM. */
function formatLike(original: string, pkg: Record<string, unknown>): string {
  const bom = original.startsWith('\uFEFF') ? '\uFEFF' : '';
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const multiline = original.trim().includes('\n');
  const indent = multiline ? (/^([ \t]+)\S/m.exec(original)?.[1] ?? '  ') : '';
  const body = JSON.stringify(pkg, null, indent).replace(/\n/g, eol);
  return bom + body + (/\r?\n$/.test(original) ? eol : '');
}

/**
 * The guarded package.json entries (`package.json#scripts.test`) that differ from the base's are put
 * back to the base's value (removed when the base had none); the rest of the agent's package.json is
 * kept. Returns the entries restored, as given. A package.json that is missing or is not JSON is left
 * alone: the package manager refuses it, so the grader fails by itself.
 */
export async function restorePackageEntries(
  worktree: string,
  baseSha: string,
  globs: readonly string[],
  worktrees: Worktrees,
): Promise<string[]> {
  const entries = globs.flatMap((each) => PACKAGE_KEY.exec(each)?.[1] ?? []);
  if (entries.length === 0) return [];
  if (!(await realFolders(worktree, 'package.json'))) return [];
  const file = path.join(worktree, 'package.json');
  const bytes = await readRegular(file);
  const text = bytes?.toString('utf8');
  const current = parsePackage(text);
  if (text === undefined || current === undefined) return [];
  const inBase = (await worktrees.tree(worktree, baseSha)).find((entry) => entry.path === 'package.json');
  const baseText =
    inBase && (await worktrees.blobs(worktree, [inBase.oid])).get(inBase.oid)?.toString('utf8');
  const base = inBase ? parsePackage(baseText) : {};
  if (base === undefined) return [];
  const restored: string[] = [];
  for (const entry of entries) {
    const key = keyPath(entry);
    const was = valueAt(base, key);
    if (isDeepStrictEqual(valueAt(current, key), was)) continue;
    setAt(current, key, was);
    restored.push(`package.json#${entry}`);
  }
  if (restored.length > 0)
    await writeConfined(worktree, 'package.json', formatLike(text, current), [], { restoring: true });
  return restored;
}
