/**
 * `loops init [--github] [NAME]`: sets a repository up for loops. A first loop (unless there are loops
 * already), `.loops/` in .gitignore (the run worktrees), and with `--github` a workflow that runs the
 * repository's loops on a schedule. Nothing that exists is overwritten; it says what it did and skipped.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scaffoldLoop, ScaffoldError } from '../../core/definition/scaffold.js';
import { PROVIDERS, type ProviderName } from '../../core/definition/schema.js';
import { EXIT_BAD_DEFINITION } from '../../core/events.js';
import { writeFileAtomic } from '../../state/atomic.js';
import type { CommonOptions } from '../index.js';
import { loadLoop } from '../../core/definition/load.js';
import type { LoopDefinition } from '../../core/definition/schema.js';
import { DEFAULT_WORKFLOW, githubWorkflow, secretsFor } from './github-workflow.js';

export const WORKFLOW_PATH = '.github/workflows/loops.yml';
const IGNORED = ['.loops/'];

export interface InitOptions {
  github: boolean;
  firstLoop: string;
}

export async function init(args: string[], options: CommonOptions, github: boolean): Promise<number> {
  const [name, ...extra] = args;
  if (extra.length > 0) {
    process.stderr.write('loops init: give at most one name for the first loop, e.g. loops init fix-tests\n');
    return EXIT_BAD_DEFINITION;
  }
  if (options.provider !== undefined && !isProvider(options.provider)) {
    process.stderr.write(`loops init: --provider must be one of ${PROVIDERS.join(', ')}\n`);
    return EXIT_BAD_DEFINITION;
  }
  try {
    const lines = await initRepository(
      options.repo,
      { github, firstLoop: name ?? 'fix-tests' },
      options.provider,
    );
    for (const line of lines) process.stdout.write(`${line}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ScaffoldError) {
      process.stderr.write(`loops init: ${err.message}\n`);
      return EXIT_BAD_DEFINITION;
    }
    throw err;
  }
}

/** Does the setting up; returns one line per thing done or left alone. */
export async function initRepository(repo: string, o: InitOptions, provider?: string): Promise<string[]> {
  const said: string[] = [];
  const existing = await loopNames(repo);
  if (existing.length === 0) {
    const created = await scaffoldLoop(repo, o.firstLoop, isProvider(provider) ? { provider } : undefined);
    said.push(...created.map((f) => `created ${f}`));
  } else {
    said.push(`kept loops/: ${existing.join(', ')}`);
  }
  said.push(await ignoreWorktrees(repo));
  if (o.github) said.push(await writeWorkflow(repo, existing.length > 0 ? existing : [o.firstLoop]));
  said.push("next: edit the loop's LOOP.md, then loops validate and loops run NAME");
  return said;
}

async function loopNames(repo: string): Promise<string[]> {
  try {
    const entries = await readdir(path.join(repo, 'loops'), { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function ignoreWorktrees(repo: string): Promise<string> {
  const file = path.join(repo, '.gitignore');
  let current = '';
  try {
    current = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const present = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORED.filter((l) => !present.has(l) && !present.has(l.replace(/\/$/, '')));
  if (missing.length === 0) return 'kept .gitignore: it already ignores .loops/';
  const head = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  await writeFileAtomic(
    file,
    `${head}# loops: the run worktrees (state/ is meant to be committed)\n${missing.join('\n')}\n`,
  );
  return `added ${missing.join(', ')} to .gitignore`;
}

async function writeWorkflow(repo: string, loops: string[]): Promise<string> {
  const file = path.join(repo, WORKFLOW_PATH);
  await mkdir(path.dirname(file), { recursive: true });
  const install = (await hasLoopsDependency(repo)) ? 'npx' : 'global';
  // The secrets follow the loops' own providers and servers, so each reads the key it needs.
  const definitions: LoopDefinition[] = [];
  const unread: string[] = [];
  for (const loop of loops) {
    const loaded = await loadLoop(repo, loop);
    if (loaded.ok) definitions.push(loaded.definition);
    else unread.push(loop);
  }
  const secrets = secretsFor(definitions);
  const text = githubWorkflow({ ...DEFAULT_WORKFLOW, loops, install, secrets });
  try {
    await writeFile(file, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return `kept ${WORKFLOW_PATH}: it exists`;
    throw err;
  }
  const how =
    install === 'npx'
      ? 'it runs loops from your dependencies (npm ci)'
      : 'set the repository variable LOOPS_SOURCE to the git URL to install loops from';
  const add =
    secrets.length === 0
      ? 'no secrets needed'
      : `add the secret${secrets.length > 1 ? 's' : ''} ${secrets.join(', ')}`;
  const unknown =
    unread.length === 0
      ? ''
      : `; ${unread.join(', ')} did not validate, so the secrets ${unread.length > 1 ? 'they need' : 'it needs'} ` +
        'are not in it: run loops validate, then add them to the Run step';
  return `created ${WORKFLOW_PATH} (${loops.join(', ')}, weekdays 06:00 UTC; ${add}; ${how}${unknown})`;
}

async function hasLoopsDependency(repo: string): Promise<boolean> {
  try {
    const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const deps = {
      ...(pkg.dependencies as object | undefined),
      ...(pkg.devDependencies as object | undefined),
    };
    return 'loops-supervisor' in deps;
  } catch {
    // No package.json, or one that does not parse: loops is then installed globally in the job.
    return false;
  }
}

function isProvider(p: string | undefined): p is ProviderName {
  return p !== undefined && (PROVIDERS as readonly string[]).includes(p);
}
