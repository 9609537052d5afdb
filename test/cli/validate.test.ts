/**
 * `loops validate`, `list` and `run` with bad loops beside a good one: validate finds what would fail
 * at run time, at its file and line; warnings (settings not acted on yet) leave the exit code at 0;
 * and no bad loop stops the others from listing, validating or running.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOT_YET_ENFORCED } from '../../src/core/definition/not-yet.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli, type CliOptions } from './cli-process.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-cli-'));
});
afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const inRepo = (): CliOptions => ({ scratch, cwd: repo.dir });

const GOOD_LOOP = '---\nname: good\nagent: { provider: scripted }\n---\nNothing to do.\n';
const GOOD_SCRIPT = 'turns:\n  - text: Done.\n  - when: { step: review }\n    repeat: true\n    text: "{}"\n';

async function write(file: string, text: string): Promise<void> {
  await mkdir(join(repo.dir, file, '..'), { recursive: true });
  await writeFile(join(repo.dir, file), text);
}

/** The loops that each fail one run-time check, with the problem line validate must print. */
const RUN_TIME: Array<{ name: string; yaml: string[]; expected: RegExp }> = [
  {
    name: 'no-command',
    // A grader of its own: a command agent cannot host the default checker (a separate problem).
    yaml: ['agent:', '  provider: command', 'verify:', '  - command: "true"'],
    expected: /^loops\/no-command\/LOOP\.md:4: agent\.provider: the command provider needs agent\.command/,
  },
  {
    name: 'bad-regex',
    yaml: ['verify:', '  - metric: { command: node bench.js, pattern: "score=([0-9" }'],
    expected: /^loops\/bad-regex\/LOOP\.md:4: verify\[0\]\.metric\.pattern: not a valid regular expression/,
  },
  {
    name: 'bad-cron',
    yaml: ['trigger:', '  cron: "61 * * * *"'],
    expected:
      /^loops\/bad-cron\/LOOP\.md:4: trigger\.cron: "61 \* \* \* \*" is not a cron expression: Invalid value for minute/,
  },
  {
    name: 'bad-url',
    yaml: ['agent:', '  provider: openai', '  base_url: file:///etc/passwd'],
    expected:
      /^loops\/bad-url\/LOOP\.md:5: agent\.base_url: "file:\/\/\/etc\/passwd" must be an http:\/\/ or https:\/\/ address/,
  },
  {
    name: 'bad-base',
    yaml: ['workspace: { base: "--orphan=x" }'],
    expected:
      /^loops\/bad-base\/LOOP\.md:3: workspace\.base: "--orphan=x" is not a branch, tag or commit name: it starts with "-"/,
  },
  {
    name: 'huge-timeout',
    yaml: ['verify:', '  - command: npm test', '    timeout: 9999999'],
    expected: /^loops\/huge-timeout\/LOOP\.md:5: verify\[0\]\.timeout: at most 2147483 seconds/,
  },
  {
    name: 'huge-minutes',
    yaml: ['budget: { minutes: 100000 }'],
    expected: /^loops\/huge-minutes\/LOOP\.md:3: budget\.minutes: at most 35791 minutes/,
  },
];

describe('loops validate', () => {
  it('reports each value that would fail at run time at its line, and still says ok for the good loop', async () => {
    await write('loops/good/LOOP.md', GOOD_LOOP);
    await write('loops/good/SCRIPT.yaml', GOOD_SCRIPT);
    for (const loop of RUN_TIME) {
      await write(
        `loops/${loop.name}/LOOP.md`,
        ['---', `name: ${loop.name}`, ...loop.yaml, '---', 'x', ''].join('\n'),
      );
    }
    const r = await runCli(['validate'], inRepo());
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/^ok {2}good$/m);
    const problems = r.stderr.trimEnd().split('\n');
    expect(problems.at(-1)).toBe(`${RUN_TIME.length} problem(s) found`);
    for (const loop of RUN_TIME) {
      expect(
        problems.filter((line) => line.startsWith(`loops/${loop.name}/`)),
        r.stderr,
      ).toEqual([expect.stringMatching(loop.expected)]);
    }
  });

  it('accepts what git and cron accept: branch steps, slashes, @daily', async () => {
    await write(
      'loops/fine/LOOP.md',
      ['---', 'name: fine', 'workspace: { base: "origin/main~2" }', '---', 'x', ''].join('\n'),
    );
    const r = await runCli(['validate', 'fine'], inRepo());
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('warns about every setting accepted but not acted on yet, with exit 0', async () => {
    await write(
      'loops/later/LOOP.md',
      [
        '---',
        'name: later',
        'agent:',
        '  route: { triage: claude-haiku-4-5 }',
        '  mcp: [{ name: docs, command: docs-server }]',
        'trigger: { cron: "@daily" }',
        'stall: { window: 2 }',
        'approve: ["run:git push*"]',
        'hillclimb:',
        '  every: 3',
        '  cron: "@daily"',
        '  eval: tasks.txt',
        'verify:',
        '  - metric: { command: node bench.js, pattern: "[0-9]+" }',
        '---',
        'x',
        '',
      ].join('\n'),
    );
    const r = await runCli(['validate', 'later'], inRepo());
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out[0]).toBe('ok  later');
    // Whatever is still in the not-yet table warns at its line; what has been built (deleted from the
    // table) does not. The metric pattern's missing capture group always warns.
    const lineOf: Record<string, number> = {
      'agent.route.triage': 4,
      'agent.mcp': 5,
      trigger: 6,
      stall: 7,
      approve: 8,
      'hillclimb.every': 10,
      'hillclimb.cron': 11,
      'hillclimb.eval': 12,
    };
    const notYet = new Set(NOT_YET_ENFORCED.map(({ path }) => path.join('.')));
    // A triage model without trigger.triage is never called: it warns whatever the table says.
    const triageUnused = 'agent.route.triage';
    const expected = Object.entries(lineOf)
      .filter(([field]) => notYet.has(field) || field === triageUnused)
      .map(([field, line]) => `loops/later/LOOP.md:${line}: ${field}`);
    const warned = out.slice(1).filter((line) => !line.trim().startsWith('note: '));
    expect(warned.map((line) => line.trim().split(': warning: ')[0])).toEqual([
      ...expected,
      'loops/later/LOOP.md:14: verify[0].metric.pattern',
    ]);
    // every entry of the table is tried here
    expect(notYet.size).toBe(expected.length - (notYet.has(triageUnused) ? 0 : 1));
    // Triggers run now: the trigger block itself is no longer a warning (webhook and triage warnings are
    // tested in test/triggers/validate-triggers.test.ts).
    expect(r.stdout).not.toContain('trigger: warning');
  });

  it('says which model the defaulted cheap steps run on, and nothing once they are routed', async () => {
    const loop = (route: string): string =>
      `---\nname: cheap\nagent:\n  provider: anthropic\n  model: claude-sonnet-4-6\n${route}---\nx\n`;
    await write('loops/cheap/LOOP.md', loop(''));
    const r = await runCli(['validate', 'cheap'], inRepo());
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      '    note: triage runs on claude-haiku-4-5, memory handoffs (summary) run on claude-haiku-4-5 when that costs less than claude-sonnet-4-6 reading the iteration from its prompt cache; review stays on claude-sonnet-4-6; set agent.route to choose',
    );
    await write(
      'loops/cheap/LOOP.md',
      loop('  route: { triage: claude-sonnet-4-6, summary: claude-sonnet-4-6 }\n'),
    );
    const routed = await runCli(['validate', 'cheap'], inRepo());
    expect(routed.exitCode).toBe(0);
    expect(routed.stdout).not.toContain('haiku');
  });
});

describe('a bad loop beside a good one', () => {
  it('list shows the bad loops as invalid and the good one as it is; run still runs the good one', async () => {
    await repo.addLoop('good', GOOD_LOOP, GOOD_SCRIPT);
    await write(
      'loops/bomb/LOOP.md',
      [
        '---',
        'name: bomb',
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
        'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
        'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
        'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
        'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
        '---',
        'x',
        '',
      ].join('\n'),
    );
    await mkdir(join(repo.dir, 'loops', 'pipe'), { recursive: true });
    execFileSync('mkfifo', [join(repo.dir, 'loops', 'pipe', 'LOOP.md')]);
    await write('loops/good/RUBRIC.md', '- it works\n');
    await mkdir(join(repo.dir, 'loops', 'good-too'), { recursive: true });
    await write('loops/good-too/LOOP.md', GOOD_LOOP.replace('name: good', 'name: good-too'));
    execFileSync('mkfifo', [join(repo.dir, 'loops', 'good-too', 'SKILL.md')]);

    const list = await runCli(['list'], inRepo());
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^bomb +INVALID +1 problem\(s\): loops validate bomb/m);
    expect(list.stdout).toMatch(/^pipe +INVALID +1 problem\(s\): loops validate pipe/m);
    expect(list.stdout).toMatch(/^good-too +INVALID/m);
    expect(list.stdout).toMatch(/^good +scripted\/scripted/m);

    const validate = await runCli(['validate'], inRepo());
    expect(validate.exitCode).toBe(2);
    expect(validate.stdout).toMatch(/^ok {2}good$/m);
    expect(validate.stderr).toContain(
      'loops/bomb/LOOP.md:4: (front matter): the YAML aliases expand too far',
    );
    expect(validate.stderr).toContain('loops/pipe/LOOP.md:1: (file): it is a named pipe (FIFO)');
    expect(validate.stderr).toContain('loops/good-too/SKILL.md:1: (file): it is a named pipe (FIFO)');

    const run = await runCli(['run', 'good', '--json'], inRepo());
    expect(run.stderr).not.toMatch(/alias|FIFO/);
    expect(JSON.parse(run.stdout.trim()) as { loop: string }).toMatchObject({ loop: 'good' });

    const refused = await runCli(['run', 'pipe'], inRepo());
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('loops/pipe/LOOP.md:1: (file): it is a named pipe (FIFO)');
  });
});
