/**
 * A shell command line as the simple commands it runs, for matching `run:` approval rules.
 *
 * The tokenizer is shell-quote's; this file only walks its tokens. The split errs on the side of
 * asking: every operator that can start another command (`&&`, `||`, `;`, `|`, `&`, subshells,
 * `$(…)`, `<(…)`, backticks, newlines) starts a new simple command, even inside quotes where a shell
 * would not, because a rule that asks once too often is safe and one that misses a call is not.
 * Wrappers that run another command (`env X=1`, `sudo`, `bash -c "…"`, `eval`, `git -C dir`, …) are
 * looked through: each layer is a candidate for matching, so `run:sudo *` and `run:git push*` both
 * catch `sudo git push`.
 */
import { parse, type ParseEntry } from 'shell-quote';

export interface SimpleCommand {
  /** The words, variables left as written (`$HOME`), redirections removed. */
  argv: string[];
  /** Redirections into or out of files, e.g. `> out.txt`. */
  redirects: Array<{ op: string; target: string }>;
}

const REDIRECTS = new Set(['>', '>>', '<', '>&', '<&', '&>', '>|', '<>', '&>>']);
/** Operators that end one simple command and start another. */
const SEPARATORS = new Set(['&&', '||', ';', ';;', '|', '|&', '&', '(', ')', '<(', '>(']);
/** How deep `bash -c "…"` may nest before the rest is taken as it is (a guard, not a limit people hit). */
const MAX_DEPTH = 8;

export function splitCommands(line: string, depth = 0): SimpleCommand[] {
  // Backticks and newlines are command boundaries that shell-quote reads as plain text or spaces.
  const prepared = line.replace(/`/g, ' ; ').replace(/\r?\n/g, ' ; ');
  let entries: ParseEntry[];
  try {
    entries = parse(prepared, (name) => `$${name}`);
  } catch {
    // Unbalanced quotes: a shell would refuse it too; match the words as they stand.
    entries = prepared.split(/\s+/).filter(Boolean);
  }
  const out: SimpleCommand[] = [];
  let current: SimpleCommand = { argv: [], redirects: [] };
  const finish = (): void => {
    if (current.argv.length > 0 || current.redirects.length > 0) out.push(current);
    current = { argv: [], redirects: [] };
  };
  for (let i = 0; i < entries.length; i += 1) {
    const entry = entries[i];
    if (entry === undefined) continue;
    if (typeof entry === 'string') {
      current.argv.push(entry);
      continue;
    }
    if ('comment' in entry) break;
    if (entry.op === 'glob') {
      current.argv.push(entry.pattern);
      continue;
    }
    if ('op' in entry) {
      const op = entry.op;
      if (REDIRECTS.has(op)) {
        // `2>` arrives as the word "2" then the operator; the descriptor is not an argument.
        const last = current.argv[current.argv.length - 1];
        if (last !== undefined && /^\d$/.test(last)) current.argv.pop();
        const next = entries[i + 1];
        if (typeof next === 'string') {
          current.redirects.push({ op, target: next });
          i += 1;
        }
        continue;
      }
      if (SEPARATORS.has(op)) finish();
      continue;
    }
  }
  finish();
  // `$(` leaves a lone `$` (or `x=$`) before the subshell: it is not a command of its own.
  const cleaned = out
    .map((c) => ({ ...c, argv: c.argv.filter((w, k) => !(k === c.argv.length - 1 && /(^|=)\$$/.test(w))) }))
    .map((c) => ({ ...c, argv: c.argv.map((w) => w.replace(/=\$$/, '=')) }))
    .filter((c) => c.argv.length > 0 || c.redirects.length > 0);
  if (depth >= MAX_DEPTH) return cleaned;
  // A command string given to a shell (`bash -c "a && b"`) is itself split.
  const expanded: SimpleCommand[] = [];
  for (const command of cleaned) {
    expanded.push(command);
    for (const inner of innerScripts(command.argv)) expanded.push(...splitCommands(inner, depth + 1));
  }
  return expanded;
}

/**
 * Every way a simple command can be read once wrappers are peeled off, outermost first:
 * `env A=1 sudo git -C x push` → that, `sudo git -C x push`, `git -C x push`, `git push`.
 */
export function commandLayers(argv: readonly string[]): string[][] {
  const layers: string[][] = [];
  let words = [...argv];
  for (let guard = 0; guard < 32 && words.length > 0; guard += 1) {
    layers.push(words);
    const inner = unwrap(words);
    if (inner === undefined || inner.length === 0) break;
    words = inner;
  }
  return layers;
}

/** The command a wrapper runs, or undefined when `words` is not a wrapper. */
function unwrap(words: readonly string[]): string[] | undefined {
  const [head, ...rest] = words;
  if (head === undefined) return undefined;
  if (isAssignment(head)) return dropWhile(words, isAssignment);
  const name = head.split('/').pop() ?? head;
  // `/usr/bin/git push` is `git push`.
  if (name !== head && name !== '') return [name, ...rest];
  switch (name) {
    case 'env':
      return skipOptions(rest, ['-u', '--unset', '-C', '--chdir', '-S', '--split-string'], isAssignment);
    case 'sudo':
      return skipOptions(rest, ['-u', '-g', '-C', '-p', '-D', '-r', '-t', '-U', '-h', '-R', '-T']);
    case 'doas':
      return skipOptions(rest, ['-u', '-C']);
    case 'command':
    case 'builtin':
    case 'exec':
    case 'nohup':
    case 'time':
    case 'setsid':
      return skipOptions(rest, ['-a']);
    case 'nice':
      return skipOptions(rest, ['-n', '--adjustment']);
    case 'ionice':
      return skipOptions(rest, ['-c', '-n', '-p']);
    case 'timeout': {
      const after = skipOptions(rest, ['-s', '--signal', '-k', '--kill-after']);
      return after.slice(1); // the duration
    }
    case 'stdbuf':
      return skipOptions(rest, ['-i', '-o', '-e']);
    case 'xargs':
      return skipOptions(rest, ['-n', '-I', '-i', '-L', '-l', '-P', '-d', '-E', '-e', '-s', '-a']);
    case 'git':
      return gitSubcommand(rest);
    default:
      return undefined;
  }
}

/** `git -C dir -c k=v --no-pager push` → `git push`: the global options say where, not what. */
function gitSubcommand(rest: readonly string[]): string[] | undefined {
  const withValue = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--exec-path']);
  let i = 0;
  while (i < rest.length) {
    const word = rest[i] ?? '';
    if (!word.startsWith('-')) break;
    i += withValue.has(word) ? 2 : 1;
  }
  if (i === 0) return undefined;
  return ['git', ...rest.slice(i)];
}

/** Drops leading options (and the values of those that take one), and leading `skip` words. */
function skipOptions(
  rest: readonly string[],
  withValue: readonly string[],
  skip: (word: string) => boolean = () => false,
): string[] {
  let i = 0;
  while (i < rest.length) {
    const word = rest[i] ?? '';
    if (word === '--') {
      i += 1;
      break;
    }
    if (word.startsWith('-') && word.length > 1) {
      i += withValue.includes(word) ? 2 : 1;
      continue;
    }
    if (skip(word)) {
      i += 1;
      continue;
    }
    break;
  }
  return rest.slice(i);
}

function dropWhile(words: readonly string[], test: (w: string) => boolean): string[] {
  let i = 0;
  while (i < words.length && test(words[i] ?? '')) i += 1;
  return words.slice(i);
}

function isAssignment(word: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*=/.test(word);
}

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish']);

/** Shell options whose value is the next word (`bash -o pipefail -c …`). */
const SHELL_VALUED = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);

/**
 * The scripts a simple command hands to a shell, at any wrapper layer: `bash -c "…"`, `sh -lc "…"`,
 * `bash -o pipefail -c "…"`, and `eval …` (its words joined, as eval joins them).
 */
function innerScripts(argv: readonly string[]): string[] {
  const scripts: string[] = [];
  for (const layer of commandLayers(argv)) {
    const [head, ...rest] = layer;
    const name = head?.split('/').pop() ?? head;
    if (name === 'eval' && rest.length > 0) scripts.push(rest.join(' '));
    if (name === undefined || !SHELLS.has(name)) continue;
    for (let i = 0; i < rest.length; i += 1) {
      const word = rest[i] ?? '';
      if (!word.startsWith('-') && !word.startsWith('+')) break;
      if (SHELL_VALUED.has(word)) {
        i += 1;
        continue;
      }
      // `-c`, `-lc`, `-ec`: the next word is the script.
      if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(word)) {
        const script = rest[i + 1];
        if (script !== undefined) scripts.push(script);
        break;
      }
    }
  }
  return scripts;
}
