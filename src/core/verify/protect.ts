/**
 * What the agent may read but never write: the graders' own inputs. An agent that can edit its checks
 * can pass them without doing the work, so the tool layer refuses writes to
 *   - the loop's LOOP.md (where the graders are defined) and RUBRIC.md, and any rubric a grader names;
 *   - every path a grader lists under `protect:` (globs relative to the repository root);
 *   - a command or metric grader's own scripts: each path-like word of its command that names a file
 *     in the repository (`node scripts/check.js` protects scripts/check.js; `npm test` protects nothing).
 * Paths are relative to the repository root, which is also the worktree's root.
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LoopDefinition } from '../definition/schema.js';
import type { Worktrees } from '../../workspace/worktrees.js';
import { git, gitOk } from '../../workspace/git.js';
import picomatch from 'picomatch';

/** Shell words of a command line: quotes removed, operators and redirections as separators. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  const end = (): void => {
    if (started) words.push(word);
    word = '';
    started = false;
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i] ?? '';
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < command.length) word += command[++i] ?? '';
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < command.length) {
      word += command[++i] ?? '';
      started = true;
    } else if (/\s|[;&|<>()]/.test(ch)) {
      end();
    } else {
      word += ch;
      started = true;
    }
  }
  end();
  return words;
}

/** A word that could be a file: it has a folder or an extension, and nothing a shell would expand. */
function pathLike(word: string): string | undefined {
  let value = word;
  if (word.startsWith('-')) {
    // An option's value (--config=check.js) can name a script; a bare option cannot.
    const eq = word.indexOf('=');
    if (eq < 0) return undefined;
    value = word.slice(eq + 1);
  }
  if (value === '' || /[*?[\]{}$`~]/.test(value)) return undefined;
  return value.includes('/') || /\.[A-Za-z0-9]+$/.test(value) ? value : undefined;
}

async function isFileIn(root: string, relative: string): Promise<string | undefined> {
  if (path.isAbsolute(relative)) return undefined;
  const normal = path.posix.normalize(relative.split(path.sep).join('/'));
  if (normal === '..' || normal.startsWith('../')) return undefined;
  const info = await stat(path.join(root, normal)).catch(() => undefined);
  return info?.isFile() ? normal.replace(/^\.\//, '') : undefined;
}

/** The script files a grader's command runs, relative to `root`. */
export async function commandScripts(command: string, root: string): Promise<string[]> {
  const found: string[] = [];
  for (const word of shellWords(command)) {
    const candidate = pathLike(word);
    if (candidate === undefined) continue;
    const file = await isFileIn(root, candidate);
    if (file !== undefined) found.push(file);
  }
  return found;
}

/** Globs (relative to the repository root) the agent's tools must not write; `root` is the worktree. */
export async function protectedPaths(def: LoopDefinition, root: string): Promise<string[]> {
  const loopDir = `loops/${def.name}`;
  const paths = [`${loopDir}/LOOP.md`, `${loopDir}/RUBRIC.md`];
  if (def.rubric) paths.push(def.rubric.path);
  for (const grader of def.verify) {
    paths.push(...grader.protect);
    if ('rubric' in grader) paths.push(path.posix.normalize(`${loopDir}/${grader.rubric}`));
    if ('command' in grader) paths.push(...(await commandScripts(grader.command, root)));
    if ('metric' in grader) paths.push(...(await commandScripts(grader.metric.command, root)));
  }
  return [...new Set(paths)];
}

/**
 * The tools refuse writes to protected files, but a shell command can still change them. Before the
 * graders run, any protected file that differs from the run's base is put back (deleted when the base
 * had none), so what the graders check against is what the person wrote. Returns the files restored.
 */
export async function restoreProtected(
  worktrees: Worktrees,
  worktree: string,
  baseSha: string,
  globs: readonly string[],
): Promise<string[]> {
  if (globs.length === 0) return [];
  const isProtected = picomatch([...globs], { dot: true });
  const changed = (await worktrees.changedFiles(worktree, baseSha)).filter((file) => isProtected(file));
  for (const file of changed) {
    const existed = (await git(worktree, ['cat-file', '-e', `${baseSha}:${file}`])).exitCode === 0;
    if (existed) await gitOk(worktree, ['checkout', baseSha, '--', file], `restoring ${file}`);
    else await rm(path.join(worktree, file), { force: true });
  }
  return changed;
}
