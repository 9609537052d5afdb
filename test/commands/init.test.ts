import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';
import { runCli } from '../cli/cli-process.js';
import { githubWorkflow, DEFAULT_WORKFLOW } from '../../src/commands/init/github-workflow.js';

let scratch: string;
let repo: string;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'loops-init-'));
  repo = join(scratch, 'repo');
  await execa('git', ['init', '-q', repo]);
});

afterEach(() => rm(scratch, { recursive: true, force: true }));

describe('loops init', () => {
  it('writes a first loop that validates and ignores .loops/, and a second init changes nothing', async () => {
    await writeFile(join(repo, '.gitignore'), 'node_modules');
    const first = await runCli(['init'], { scratch, cwd: repo });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('created loops/fix-tests/LOOP.md');
    expect(await readFile(join(repo, '.gitignore'), 'utf8')).toMatch(/^node_modules\n.*\n\.loops\/\n$/);
    const validate = await runCli(['validate'], { scratch, cwd: repo });
    expect(validate.exitCode).toBe(0);

    const before = await readFile(join(repo, 'loops/fix-tests/LOOP.md'), 'utf8');
    const again = await runCli(['init'], { scratch, cwd: repo });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('kept loops/: fix-tests');
    expect(again.stdout).toContain('kept .gitignore');
    expect(await readFile(join(repo, 'loops/fix-tests/LOOP.md'), 'utf8')).toBe(before);
  });

  it('tells the agent only what is true about its memory', async () => {
    await runCli(['init', 'tidy'], { scratch, cwd: repo });
    const task = await readFile(join(repo, 'loops/tidy/LOOP.md'), 'utf8');
    expect(task).not.toMatch(/read MEMORY\.md|in MEMORY\.md/i);
    expect(task).toContain('do not write a MEMORY.md yourself');
  });

  it('with --github writes a workflow GitHub accepts, one job per loop, never overwriting one', async () => {
    const result = await runCli(['init', '--github'], { scratch, cwd: repo });
    expect(result.exitCode).toBe(0);
    const file = join(repo, '.github/workflows/loops.yml');
    const text = await readFile(file, 'utf8');
    const state = validateWorkflow(text);
    expect(state.errors).toEqual([]);
    const wf = parse(text) as {
      on: Record<string, unknown>;
      jobs: {
        run: {
          strategy: { matrix: { loop: string[] } };
          concurrency: { group: string };
          'timeout-minutes': number;
        };
      };
    };
    expect(Object.keys(wf.on)).toEqual(['schedule', 'workflow_dispatch']);
    expect(wf.jobs.run.strategy.matrix.loop).toEqual(['fix-tests']);
    expect(wf.jobs.run.concurrency.group).toBe('loops-${{ matrix.loop }}');
    expect(wf.jobs.run['timeout-minutes']).toBe(60);
    expect(runEnv(text)).toEqual({ ANTHROPIC_API_KEY: '${{ secrets.ANTHROPIC_API_KEY }}' });
    expect(text).toContain('LOOPS_SOURCE');

    await writeFile(file, 'mine\n');
    const again = await runCli(['init', '--github'], { scratch, cwd: repo });
    expect(again.stdout).toContain('kept .github/workflows/loops.yml');
    expect(await readFile(file, 'utf8')).toBe('mine\n');
  });

  it("takes the secrets from the loops' providers and servers: --provider openai needs OPENAI_API_KEY", async () => {
    const result = await runCli(['init', '--github', '--provider', 'openai'], { scratch, cwd: repo });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('add the secret OPENAI_API_KEY;');
    const text = await readFile(join(repo, '.github/workflows/loops.yml'), 'utf8');
    expect(validateWorkflow(text).errors).toEqual([]);
    expect(runEnv(text)).toEqual({ OPENAI_API_KEY: '${{ secrets.OPENAI_API_KEY }}' });
  });

  it('gives each existing loop the keys its provider reads and the variables its MCP servers name', async () => {
    const loop = async (name: string, agent: string) => {
      await mkdir(join(repo, 'loops', name), { recursive: true });
      await writeFile(
        join(repo, 'loops', name, 'LOOP.md'),
        `---\nname: ${name}\nagent: ${agent}\nverify: [{ command: "true" }]\n---\nWork.\n`,
      );
    };
    await loop('a', '{ provider: codex }');
    await loop(
      'b',
      '{ provider: claude-code, mcp: [{ name: gh, command: gh-server, env: [GITHUB_TOKEN] }] }',
    );
    await loop('c', '{ provider: command, command: [my-agent] }');
    await loop('d', '{ provider: nope }');
    const result = await runCli(['init', '--github'], { scratch, cwd: repo });
    expect(result.stdout).toContain('add the secrets ANTHROPIC_API_KEY, GITHUB_TOKEN, OPENAI_API_KEY;');
    expect(result.stdout).toContain('d did not validate, so the secrets it needs are not in it');
    const text = await readFile(join(repo, '.github/workflows/loops.yml'), 'utf8');
    expect(validateWorkflow(text).errors).toEqual([]);
    expect(Object.keys(runEnv(text) ?? {})).toEqual(['ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'OPENAI_API_KEY']);
  });

  it('runs loops from the dependencies when the repository has it as one', async () => {
    await writeFile(
      join(repo, 'package.json'),
      JSON.stringify({ devDependencies: { 'loops-supervisor': '*' } }),
    );
    await runCli(['init', '--github'], { scratch, cwd: repo });
    const text = await readFile(join(repo, '.github/workflows/loops.yml'), 'utf8');
    expect(validateWorkflow(text).errors).toEqual([]);
    expect(text).toContain('npm ci');
    expect(text).toContain('npx loops run');
    expect(text).not.toContain('LOOPS_SOURCE');
  });

  it('rejects a bad provider and a bad first name without writing anything', async () => {
    const bad = await runCli(['init', '--provider', 'nope'], { scratch, cwd: repo });
    expect(bad.exitCode).toBe(2);
    const badName = await runCli(['init', 'Bad_Name'], { scratch, cwd: repo });
    expect(badName.exitCode).toBe(2);
    expect(badName.stderr).toContain('not a valid loop name');
    expect(existsSync(join(repo, 'loops/Bad_Name'))).toBe(false);
  });
});

describe('the workflow template', () => {
  it('is valid for many loops and other schedules', () => {
    const text = githubWorkflow({
      ...DEFAULT_WORKFLOW,
      loops: ['a', 'b-c', 'd'],
      cron: '*/30 * * * *',
      install: 'global',
      secrets: [],
    });
    expect(validateWorkflow(text).errors).toEqual([]);
    // Loops that need no key (scripted, command) get no env block at all.
    expect(runEnv(text)).toBeUndefined();
    expect(
      (parse(text) as { jobs: { run: { strategy: { matrix: { loop: string[] } } } } }).jobs.run.strategy
        .matrix.loop,
    ).toEqual(['a', 'b-c', 'd']);
  });

  it('is caught by the validator when broken, so the check above can fail', () => {
    const good = githubWorkflow({
      ...DEFAULT_WORKFLOW,
      loops: ['a'],
      install: 'npx',
      secrets: ['OPENAI_API_KEY'],
    });
    const broken = good.replace('runs-on: ubuntu-latest', 'runs-on: [');
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
    const wrongKey = good.replace('timeout-minutes', 'timeout-minute');
    expect(validateWorkflow(wrongKey).errors.length).toBeGreaterThan(0);
  });
});

/** The env of the step that runs the loop. */
function runEnv(text: string): Record<string, string> | undefined {
  const wf = parse(text) as {
    jobs: { run: { steps: Array<{ run?: string; env?: Record<string, string> }> } };
  };
  return wf.jobs.run.steps.find((step) => step.run?.includes(' run "'))?.env;
}
