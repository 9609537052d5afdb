/**
 * Start-up pays only for what a command uses (issue 12 §3): the built CLI is run with a loader hook
 * that records every module it resolves, and the read-only commands must not have loaded the
 * tokenizer, the price table, a model SDK, the screen or execa. `loops run` is the control: it does
 * load them, so a hook that recorded nothing would fail here rather than pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { CLI, cliEnv } from './cli-process.js';

const HOOK = fileURLToPath(new URL('../support/import-log.mjs', import.meta.url));

/** Packages a read-only command has no use for, by the path they load from. */
const HEAVY = [
  'gpt-tokenizer',
  '@pydantic/genai-prices',
  '@anthropic-ai/sdk',
  'openai',
  'ink',
  'react',
  '@modelcontextprotocol',
  '@opentelemetry',
  'execa',
];

let repo: TestRepo;
let scratch: string;
let logs = 0;

beforeAll(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-startup-'));
  // A run first, so list, spend and trace have an index, rollups and a trace to read.
  const run = await loaded(['run', 'fix-tests', '--json']);
  expect(run.exitCode).toBe(0);
});

afterAll(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

/** Runs the CLI in the repository; returns its exit code and the packages it resolved. */
async function loaded(args: string[]): Promise<{ exitCode: number | undefined; packages: Set<string> }> {
  const log = join(scratch, `imports-${logs++}.log`);
  const result = await execa('node', ['--import', HOOK, CLI, ...args], {
    reject: false,
    extendEnv: false,
    env: { ...cliEnv({ scratch }), LOOPS_IMPORT_LOG: log },
    cwd: repo.dir,
    stdin: 'ignore',
  });
  const text = await readFile(log, 'utf8').catch(() => '');
  const packages = new Set<string>();
  for (const url of text.split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1]) packages.add(match[1]);
  }
  return { exitCode: result.exitCode, packages };
}

function heavyIn(packages: Set<string>): string[] {
  return HEAVY.filter((name) => [...packages].some((p) => p === name || p.startsWith(`${name}/`)));
}

describe('start-up', () => {
  it('loads the heavy packages for a run (the control: the hook sees them)', async () => {
    const run = await loaded(['run', 'fix-tests', '--json']);
    expect(run.exitCode).toBe(0);
    expect(heavyIn(run.packages)).toEqual(
      expect.arrayContaining(['gpt-tokenizer', '@pydantic/genai-prices', '@modelcontextprotocol']),
    );
  });

  it('--version loads no package at all', async () => {
    const r = await loaded(['--version']);
    expect(r.exitCode).toBe(0);
    expect([...r.packages]).toEqual([]);
  });

  it.each([
    [['list']],
    [['validate']],
    [['validate', 'fix-tests']],
    [['spend']],
    [['spend', '--json']],
    [['trace', 'fix-tests']],
  ])('%j loads neither the tokenizer, the price table, a model SDK nor the screen', async (args) => {
    const r = await loaded(args);
    expect(r.exitCode).toBe(0);
    // It did load what it needs (the definitions' schema), so the log is not simply empty.
    expect(r.packages.size).toBeGreaterThan(0);
    expect(heavyIn(r.packages)).toEqual([]);
  });
});
