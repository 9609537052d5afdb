/**
 * The built CLI as a user runs it: `node dist/cli.js ...` in a real git repository made from the demo
 * project, with an environment that holds no API keys unless a test puts them there.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { CLI, runCli, startCli, type CliOptions, type RunningCli } from './cli-process.js';

interface RunSummaryJson {
  loop: string;
  run: string;
  outcome: string;
  reason: string;
  iterations: number;
  branch: string;
  worktree: string;
  trace: string;
  summary: string;
  budget?: { cap: string; limit: number; used: number };
  spend: { usd: number; unpricedCalls: number };
}

interface TraceEventJson {
  type: string;
  run: string;
  outcome?: string;
  name?: string;
  output?: string;
}

const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

/** A loop whose every model turn runs `sleep 30`: it is busy until someone stops it. */
const SLOW_LOOP = '---\nname: slow\nagent: { provider: scripted }\n---\nWait.\n';
const SLOW_SCRIPT =
  'turns:\n  - repeat: true\n    tool_calls:\n      - { name: run, input: { command: sleep 30 } }\n';

let repo: TestRepo;
let scratch: string;
const started: RunningCli[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-cli-'));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((cli) => cli.kill()));
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

/** Options for the CLI run from inside the test repository. */
function inRepo(env?: Record<string, string>): CliOptions {
  return { scratch, cwd: repo.dir, ...(env ? { env } : {}) };
}

function start(args: string[], options: CliOptions): RunningCli {
  const cli = startCli(args, options);
  started.push(cli);
  return cli;
}

function parseSummary(stdout: string): RunSummaryJson {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as RunSummaryJson;
}

function parseJsonl(text: string): TraceEventJson[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TraceEventJson);
}

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('answers before doing anything', () => {
  it('prints the version from package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await runCli(['--version'], { scratch });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(pkg.version);
  });

  it('prints the help with every command on stdout', async () => {
    const r = await runCli(['--help'], { scratch });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^loops: /);
    for (const usage of [
      'loops run NAME [--json]',
      'loops list',
      'loops validate [NAME]',
      'loops new NAME',
      'loops trace NAME [RUN]',
      'loops demo [--headless]',
      '-C, --repo DIR',
    ]) {
      expect(r.stdout).toContain(usage);
    }
  });

  it('rejects an unknown command and an unknown option with exit 2 and the help', async () => {
    const command = await runCli(['frobnicate'], inRepo());
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toContain('unknown command "frobnicate"');
    expect(command.stderr).toContain('Usage:');

    const option = await runCli(['list', '--frobnicate'], inRepo());
    expect(option.exitCode).toBe(2);
    expect(option.stderr).toContain('--frobnicate');
    expect(option.stdout).toBe('');
  });
});

describe('loops run', () => {
  it('runs fix-tests to verified: one JSON object on stdout, progress on stderr, the fix on its branch', async () => {
    const r = await runCli(['run', 'fix-tests', '--json'], inRepo());
    expect(r.exitCode).toBe(0);

    const summary = parseSummary(r.stdout);
    expect(summary.loop).toBe('fix-tests');
    expect(summary.outcome).toBe('verified');
    expect(summary.iterations).toBe(2);
    // The scripted model is free, and every call was priced.
    expect(summary.spend).toEqual({ usd: 0, unpricedCalls: 0 });
    expect(summary.run).toMatch(RUN_ID);
    expect(summary.branch).toBe(`loops/fix-tests/${summary.run}`);
    expect(existsSync(summary.trace)).toBe(true);
    expect(existsSync(summary.summary)).toBe(true);

    const onBranch = await repo.git('show', `${summary.branch}:src/cart.js`);
    expect(onBranch).toContain('item.priceCents * item.quantity');
    expect(onBranch).toContain('(cents / 100).toFixed(2)');
    expect(await repo.git('show', 'main:src/cart.js')).not.toContain('item.priceCents * item.quantity');

    const progress = r.stderr.split('\n');
    expect(progress).toContain(
      `[fix-tests #0] ▶ run ${summary.run} started (manual) on ${summary.branch}; sandbox: bubblewrap`,
    );
    expect(progress).toContain('[fix-tests #1] → run {"command":"node --test"}');
    expect(progress).toContain('[fix-tests #1] ✗ command: node --test (2 passed, 1 failed)');
    expect(progress).toContain('[fix-tests #2] ✓ command: node --test (3 passed, 0 failed)');
    expect(progress).toContain('[fix-tests #2] ■ verified: all 1 grader(s) passed on iteration 2');
  });

  it('ends tidy-comments at its iteration budget with exit 3', async () => {
    const r = await runCli(['-C', repo.dir, 'run', 'tidy-comments'], { scratch });
    expect(r.exitCode).toBe(3);
    expect(r.stdout.split('\n')[0]).toBe('tidy-comments: budget: iterations budget reached: used 2 of 2');
    expect(r.stdout).not.toContain('verified');
    expect(r.stderr).toContain('[tidy-comments #2] ■ budget: iterations budget reached');
  });

  it('fails with exit 1 naming ANTHROPIC_API_KEY when an anthropic loop has no key', async () => {
    await repo.addLoop('keyless', '---\nname: keyless\nagent: { provider: anthropic }\n---\nWork.\n');
    const r = await runCli(['run', 'keyless'], inRepo());
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(/^keyless: failed: .*ANTHROPIC_API_KEY/);
    expect(await repo.git('branch', '--list', 'loops/keyless/*')).toBe('');
  });

  it('stops on SIGINT once a tool call is in flight, with exit 5', async () => {
    await repo.addLoop('slow', SLOW_LOOP, SLOW_SCRIPT);
    const cli = start(['run', 'slow'], inRepo());
    await cli.waitForStderr(/\[slow #1\] → run \{"command":"sleep 30"\}/);
    cli.signal('SIGINT');

    const r = await cli.result;
    expect(r.exitCode).toBe(5);
    expect(r.stdout.split('\n')[0]).toBe('slow: stopped: stopped by a person');
    expect(r.stderr).toContain('loops: stopping the run');
    expect(r.stderr).toContain('[slow #1] ■ stopped: stopped by a person');
  });

  it('hands a second run to the loops run that holds the state lock, naming its pid', async () => {
    await repo.addLoop('slow', SLOW_LOOP, SLOW_SCRIPT);
    const first = start(['run', 'slow'], inRepo());
    await first.waitForStderr(/\[slow #0\] ▶ run \S+ started/);

    // The first serves the folder while its run goes on (docs/daemon.md): the second is its run.
    const second = await runCli(['-C', repo.dir, 'run', 'fix-tests'], { scratch });
    expect(second.stderr).toContain(
      `handing the run to loops (pid ${first.pid}, the loops run that owns state/)`,
    );
    expect(second.stdout.split('\n')[0]).toMatch(/^fix-tests: verified/);
    expect(second.exitCode).toBe(0);

    first.signal('SIGINT');
    expect((await first.result).exitCode).toBe(5);
  });

  it('refuses a directory that is not a git repository with exit 2', async () => {
    const plain = join(scratch, 'plain');
    await mkdir(join(plain, 'loops'), { recursive: true });
    const r = await runCli(['run', 'fix-tests'], { scratch, cwd: plain });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('not a git repository');
    expect(existsSync(join(plain, 'state'))).toBe(false);
  });

  it('keeps API keys out of state/, .loops/, the trace, the run branch and the tool output', async () => {
    const secrets = ['sk-ant-SECRET-123', 'sk-SECRET-456'];
    const marker = 'LOOPS_E2E_MARKER=visible-789';
    await repo.addLoop(
      'leak',
      '---\nname: leak\nagent: { provider: scripted }\nverify:\n  - command: env\n---\nShow the environment.\n',
      'turns:\n  - tool_calls:\n      - { name: run, input: { command: env } }\n' +
        '      - { name: run, input: { command: "env > env-dump.txt" } }\n  - text: Done.\n',
    );
    const r = await runCli(
      ['run', 'leak', '--json'],
      inRepo({
        ANTHROPIC_API_KEY: secrets[0]!,
        OPENAI_API_KEY: secrets[1]!,
        LOOPS_E2E_MARKER: 'visible-789',
      }),
    );
    expect(r.exitCode).toBe(0);
    const summary = parseSummary(r.stdout);

    // The environment did reach the tool output, the trace and the branch: only the keys are missing.
    const events = parseJsonl(await readFile(summary.trace, 'utf8'));
    const envOutput = events.find((e) => e.type === 'tool.result' && e.name === 'run')?.output ?? '';
    expect(envOutput).toContain(marker);
    const branchLog = await repo.git('log', '-p', `main..${summary.branch}`);
    expect(branchLog).toContain(marker);
    const traceCommand = await runCli(['trace', 'leak', '--json'], inRepo());
    expect(traceCommand.exitCode).toBe(0);

    const files = [
      ...(await filesUnder(join(repo.dir, 'state'))),
      ...(await filesUnder(join(repo.dir, '.loops'))),
    ];
    const contents = await Promise.all(
      files.map(async (file) => ({ file: relative(repo.dir, file), text: await readFile(file, 'latin1') })),
    );
    expect(contents.filter((c) => c.text.includes(marker)).map((c) => c.file)).toEqual(
      expect.arrayContaining([
        relative(repo.dir, summary.trace),
        `.loops/worktrees/leak/${summary.run}/env-dump.txt`,
      ]),
    );

    for (const secret of secrets) {
      expect(envOutput).not.toContain(secret);
      expect(branchLog).not.toContain(secret);
      expect(traceCommand.stdout).not.toContain(secret);
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(contents.filter((c) => c.text.includes(secret)).map((c) => c.file)).toEqual([]);
    }
  });
});

describe('loops validate and new', () => {
  const BAD_LOOP = [
    '---',
    'name: bad-loop',
    'description: two mistakes below',
    'budget: { usd: lots }',
    'colour: blue',
    '---',
    'Do it.',
    '',
  ].join('\n');

  it('prints each problem as FILE:LINE: field: message with exit 2', async () => {
    await repo.addLoop('bad-loop', BAD_LOOP);
    const r = await runCli(['validate'], inRepo());
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('ok  fix-tests');

    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('2 problem(s) found');
    const problems = lines.slice(0, -1);
    for (const line of problems) expect(line).toMatch(/^loops\/bad-loop\/LOOP\.md:\d+: [\w.[\]]+: \S.*$/);
    expect(problems.map((line) => line.split(': ').slice(0, 2).join(': '))).toEqual([
      'loops/bad-loop/LOOP.md:4: budget.usd',
      'loops/bad-loop/LOOP.md:5: colour',
    ]);
    expect(problems[0]).toContain('lots');
    expect(problems[1]).toContain('unknown key "colour"');
  });

  it('refuses to run a loop with problems, printing them with exit 2', async () => {
    await repo.addLoop('bad-loop', BAD_LOOP);
    const r = await runCli(['run', 'bad-loop'], inRepo());
    expect(r.exitCode).toBe(2);
    const problems = r.stderr.trimEnd().split('\n');
    expect(problems[0]).toMatch(/^loops\/bad-loop\/LOOP\.md:4: budget\.usd: /);
    expect(problems[1]).toMatch(/^loops\/bad-loop\/LOOP\.md:5: colour: /);
    expect(r.stdout).toBe('');
    expect(existsSync(join(repo.dir, 'state', 'bad-loop'))).toBe(false);
    expect(await repo.git('branch', '--list', 'loops/bad-loop/*')).toBe('');
  });

  it('scaffolds a loop that validates, and refuses to overwrite an existing one', async () => {
    const created = await runCli(['new', 'my-loop'], inRepo());
    expect(created.exitCode).toBe(0);
    expect(created.stdout).toContain('created loops/my-loop/LOOP.md');
    expect(existsSync(join(repo.dir, 'loops', 'my-loop', 'LOOP.md'))).toBe(true);

    const valid = await runCli(['validate', 'my-loop'], inRepo());
    expect(valid.exitCode).toBe(0);
    expect(valid.stdout).toContain('ok  my-loop');
    expect(valid.stderr).toBe('');

    const loopFile = join(repo.dir, 'loops', 'fix-tests', 'LOOP.md');
    const before = await readFile(loopFile, 'utf8');
    for (const name of ['my-loop', 'fix-tests']) {
      const again = await runCli(['new', name], inRepo());
      expect(again.exitCode).toBe(2);
      expect(again.stderr).toContain(`loops/${name} already exists`);
    }
    expect(await readFile(loopFile, 'utf8')).toBe(before);
  });
});

describe('loops list and trace', () => {
  it('lists every loop with its last outcome', async () => {
    const run = parseSummary((await runCli(['run', 'fix-tests', '--json'], inRepo())).stdout);
    const r = await runCli(['list'], inRepo());
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines).toEqual([
      expect.stringMatching(/^add-changelog\s+scripted\/scripted\s+manual\s+never run$/),
      expect.stringMatching(
        new RegExp(`^fix-tests\\s+scripted/scripted\\s+manual\\s+verified \\(${run.run}\\)$`),
      ),
      expect.stringMatching(/^release-notes\s+scripted\/scripted\s+manual\s+never run$/),
      expect.stringMatching(/^retry-same-fix\s+scripted\/scripted\s+manual\s+never run$/),
      expect.stringMatching(/^tidy-comments\s+scripted\/scripted\s+manual\s+never run$/),
    ]);
  });

  it("prints the latest run's trace, a named run's trace, and JSONL with --json", async () => {
    const run = parseSummary((await runCli(['run', 'fix-tests', '--json'], inRepo())).stdout);
    // An older run, as a committed state/ from earlier work would hold: its id sorts first.
    const older = '20000101-000000-0000';
    const original = await readFile(run.trace, 'utf8');
    await writeFile(
      join(repo.dir, 'state', 'fix-tests', 'traces', `${older}.jsonl`),
      original.replaceAll(run.run, older),
    );

    const latest = await runCli(['trace', 'fix-tests'], inRepo());
    expect(latest.exitCode).toBe(0);
    const lines = latest.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d\d:\d\d:\d\d #\d+ \S/);
    expect(lines[0]).toMatch(new RegExp(`#0 ▶ run ${run.run} started \\(manual\\)`));
    expect(lines).toContainEqual(expect.stringMatching(/#1 → run \{"command":"node --test"\}$/));
    expect(lines.at(-1)).toMatch(/#2 ■ verified: all 1 grader\(s\) passed on iteration 2$/);
    expect(latest.stdout).not.toContain(older);

    const named = await runCli(['trace', 'fix-tests', older], inRepo());
    expect(named.exitCode).toBe(0);
    expect(named.stdout).toContain(`▶ run ${older} started`);

    const json = await runCli(['trace', 'fix-tests', '--json'], inRepo());
    expect(json.exitCode).toBe(0);
    const events = parseJsonl(json.stdout);
    expect(events).toHaveLength(original.trim().split('\n').length);
    expect(events[0]?.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.ended', outcome: 'verified' });
    expect(events.every((e) => e.run === run.run)).toBe(true);
  });
});

describe('from anywhere in the repository', () => {
  it('works on the top level when started in a subdirectory', async () => {
    const sub: CliOptions = { scratch, cwd: join(repo.dir, 'src') };
    const listed = await runCli(['list'], sub);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(/^fix-tests\s/m);
    const created = await runCli(['new', 'from-sub'], sub);
    expect(created.exitCode).toBe(0);
    expect(existsSync(join(repo.dir, 'loops', 'from-sub', 'LOOP.md'))).toBe(true);
    expect(existsSync(join(repo.dir, 'src', 'loops'))).toBe(false);
  });

  it('exits quietly when the reader of its output goes away', async () => {
    await runCli(['run', 'fix-tests', '--json'], inRepo());
    const piped = await execa(
      'bash',
      ['-c', `node ${JSON.stringify(CLI)} trace fix-tests --json | head -1`],
      {
        cwd: repo.dir,
        reject: false,
      },
    );
    expect(piped.stdout).toContain('"type":"run.started"');
    expect(piped.stderr).not.toMatch(/EPIPE|Unhandled/);
  });

  it('says a plain directory is not a git repository, for read-only commands too', async () => {
    const plain = await mkdtemp(join(scratch, 'plain-'));
    for (const command of ['list', 'validate']) {
      const r = await runCli([command], { scratch, cwd: plain });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('not a git repository');
    }
  });
});

describe('loops demo --headless', () => {
  it('runs the demo loops in a throwaway repository and reports their outcomes', async () => {
    const r = await runCli(['demo', '--headless'], { scratch, env: { LOOPS_DEMO_PACE_MS: '0' } });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^fix-tests: verified: .*\(loops\/fix-tests\/\S+\)$/),
        expect.stringMatching(/^add-changelog: verified: .*\(loops\/add-changelog\/\S+\)$/),
        expect.stringMatching(
          /^tidy-comments: budget: iterations budget reached.*\(loops\/tidy-comments\/\S+\)$/,
        ),
        // Headless, the push that needs approval is denied and the notes are still verified.
        expect.stringMatching(/^release-notes: verified: .*\(loops\/release-notes\/\S+\)$/),
        // Stalled once stall detection is on (engine); until then it runs to its budget.
        expect.stringMatching(/^retry-same-fix: (stalled|budget): .*\(loops\/retry-same-fix\/\S+\)$/),
      ]),
    );

    // The throwaway repository is made under TMPDIR (our scratch folder) and keeps the runs' branches.
    const dir = /a throwaway repository at (\S+)/.exec(r.stderr)?.[1];
    expect(dir?.startsWith(scratch)).toBe(true);
    const branches = (await execa('git', ['-C', dir!, 'branch', '--list', 'loops/*'])).stdout;
    expect(branches.split('\n')).toHaveLength(5);
    // The scripted analyst made a real proposal from tidy-comments' trace, measured by re-running it.
    expect(r.stderr).toMatch(/\[hill-climb\] p-\S+ pending: .*; verified 0\/1 → 1\/1, no task lost/);
  });
});
