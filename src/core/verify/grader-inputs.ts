/**
 * What a grader's command depends on, read off the command line: its own scripts (each path-like word
 * naming a file in the repository), and for a package script or a JS test runner, the runners' and
 * package managers' config files and the package.json entries the scripts live in. protect.ts guards
 * all of them; the sandbox hides a holdout grader's scripts from the agent.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** Commands of a command line, each as its words: quotes removed, `;`, `&&`, `|`, `(`... between commands. */
export function shellCommands(command: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  const endWord = (): void => {
    if (started) words.push(word);
    word = '';
    started = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
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
    } else if (/[\n;&|()]/.test(ch)) {
      endCommand();
    } else if (/\s|[<>]/.test(ch)) {
      endWord();
    } else {
      word += ch;
      started = true;
    }
  }
  endCommand();
  return commands;
}

/** Shell words of a command line: quotes removed, operators and redirections as separators. */
export function shellWords(command: string): string[] {
  return shellCommands(command).flat();
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

/**
 * Config files that decide what a package script's runner does: with one rewritten (or added), a
 * test command can pass without running a test. Globs, so a config the base did not have is caught too.
 */
export const RUNNER_CONFIGS: readonly string[] = [
  'vitest.config.*',
  'vitest.workspace.*',
  'vite.config.*',
  'jest.config.*',
  '.mocharc*',
  'playwright.config.*',
  // The package managers' own: .npmrc's script-shell can make every script "pass".
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  'bunfig.toml',
];

/** Runner configs that may live in package.json instead of a file of their own. */
const PACKAGE_CONFIG_KEYS = ['jest', 'mocha', 'ava'];

/** A guarded package.json entry: `package.json#scripts.test`, `package.json#jest`. */
export const PACKAGE_KEY = /^package\.json#(.+)$/;

const NPM_TEST = new Set(['test', 't', 'tst', 'it', 'install-test', 'cit', 'clean-install-test', 'sit']);
const NPM_RUN = new Set(['run', 'run-script', 'rum', 'urn']);
const LIFECYCLE = new Set(['start', 'stop', 'restart']);
/** Options whose value is the next word; the value is not the subcommand. */
const OPTION_VALUES = new Set(['--prefix', '-C', '--dir', '--cwd', '-w', '--workspace', '--filter', '-F']);
/** yarn's and pnpm's own commands; any other first word runs the package script of that name. */
// prettier-ignore
const PM_COMMANDS = new Set([
  'add', 'audit', 'autoclean', 'bin', 'cache', 'check', 'config', 'constraints', 'create', 'dedupe',
  'deploy', 'dlx', 'env', 'exec', 'explain', 'fetch', 'global', 'help', 'i', 'import', 'info', 'init',
  'install', 'licenses', 'link', 'list', 'login', 'logout', 'ls', 'node', 'npm', 'outdated', 'owner',
  'pack', 'patch', 'plugin', 'prune', 'publish', 'rebuild', 'remove', 'rm', 'root', 'server', 'set',
  'setup', 'store', 'unlink', 'unplug', 'up', 'update', 'upgrade', 'version', 'versions', 'why',
  'workspace', 'workspaces',
]);
/** bun's own commands (`bun test` is bun's runner, not a script). */
// prettier-ignore
const BUN_COMMANDS = new Set([
  'add', 'build', 'create', 'exec', 'i', 'init', 'install', 'link', 'outdated', 'pm', 'publish',
  'remove', 'repl', 'rm', 'test', 'unlink', 'update', 'upgrade', 'x',
]);
/** npm-run-all and its shorthands take script names as arguments. */
const RUN_ALL = new Set(['npm-run-all', 'run-s', 'run-p']);

/** The words after the program that are not options (nor option values), up to a `--`. */
function positionals(args: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') break;
    if (OPTION_VALUES.has(arg)) i++;
    else if (!arg.startsWith('-')) found.push(arg);
  }
  return found;
}

/** The program a command runs and its arguments, past variables and `env` (`CI=1 npm test`). */
function programOf(words: readonly string[]): { program: string; args: string[] } {
  let i = 0;
  while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] ?? '') || words[i] === 'env')) i++;
  return { program: path.posix.basename(words[i] ?? ''), args: words.slice(i + 1) };
}

/** The package scripts one command runs by name (`npm test` → test, `yarn lint` → lint). */
function scriptsOf(words: readonly string[]): string[] {
  const { program, args } = programOf(words);
  if (RUN_ALL.has(program)) return positionals(args).filter((name) => !/[*?{}]/.test(name));
  const [sub, arg] = positionals(args);
  if (sub === undefined) return [];
  const named = (name: string | undefined): string[] => (name === undefined ? [] : [name]);
  switch (program) {
    case 'npm':
      if (NPM_TEST.has(sub)) return ['test'];
      if (LIFECYCLE.has(sub)) return [sub];
      return NPM_RUN.has(sub) ? named(arg) : [];
    case 'pnpm':
    case 'yarn':
      if (sub === 'run' || sub === 'run-script') return named(arg);
      if (NPM_TEST.has(sub)) return ['test'];
      return PM_COMMANDS.has(sub) ? [] : [sub];
    case 'bun':
      // `bun run file.ts` and `bun file.ts` run a file, which commandScripts protects.
      if (sub === 'run') return arg === undefined || pathLike(arg) !== undefined ? [] : [arg];
      return BUN_COMMANDS.has(sub) || pathLike(sub) !== undefined ? [] : [sub];
    default:
      return [];
  }
}

/** The package scripts a command line runs by name, in order, each once. */
export function packageScripts(command: string): string[] {
  return [...new Set(shellCommands(command).flatMap(scriptsOf))];
}

/** Runners a command can start without a package script: `vitest run`, `npx jest`, `pnpm exec mocha`. */
const RUNNERS = new Set(['vitest', 'jest', 'mocha', 'playwright', 'npx', 'pnpx', 'bunx']);
const PM_EXEC = new Set(['exec', 'dlx', 'x']);

function startsRunner(words: readonly string[]): boolean {
  const { program, args } = programOf(words);
  if (RUNNERS.has(program)) return true;
  const [sub] = positionals(args);
  return ['npm', 'pnpm', 'yarn', 'bun'].includes(program) && sub !== undefined && PM_EXEC.has(sub);
}

/** package.json parsed as an object, or undefined when it is missing or is not one. */
export function parsePackage(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function scriptsIn(pkg: Record<string, unknown> | undefined): Record<string, unknown> {
  const scripts = pkg?.['scripts'];
  return isRecord(scripts) ? scripts : {};
}

/**
 * What a command that runs package scripts or a JS runner must keep as it is: the runner configs, the
 * scripts it runs (with their pre- and post- scripts, and the scripts those run in turn, one level
 * down) as `package.json#scripts.NAME`, and the files the scripts name. Nothing for other commands.
 */
export async function runnerProtects(command: string, root: string): Promise<string[]> {
  const named = packageScripts(command);
  if (named.length === 0 && !shellCommands(command).some(startsRunner)) return [];
  const text = await readFile(path.join(root, 'package.json'), 'utf8').catch(() => undefined);
  const scripts = scriptsIn(parsePackage(text));
  const guarded = new Set<string>();
  const files: string[] = [];
  const guard = async (name: string): Promise<string[]> => {
    const runs: string[] = [];
    for (const each of [`pre${name}`, name, `post${name}`]) {
      guarded.add(each);
      const body = scripts[each];
      if (typeof body !== 'string') continue;
      files.push(...(await commandScripts(body, root)));
      runs.push(...packageScripts(body));
    }
    return runs;
  };
  for (const name of named) {
    for (const inner of await guard(name)) await guard(inner);
  }
  return [
    ...RUNNER_CONFIGS,
    ...PACKAGE_CONFIG_KEYS.map((key) => `package.json#${key}`),
    ...[...guarded].map((name) => `package.json#scripts.${name}`),
    ...files,
  ];
}

/** Everything a grader's command depends on that the agent must not change. */
export async function commandProtects(command: string, root: string): Promise<string[]> {
  return [...(await commandScripts(command, root)), ...(await runnerProtects(command, root))];
}
