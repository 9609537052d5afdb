/**
 * Every caller that runs worktree code goes through the run's sandbox: command and metric graders, the
 * command provider; and a run whose sandbox cannot start fails before its first model call, naming
 * the fix, unless it opted out or is the offline demo (which says it runs unconfined).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { createCommandGrader } from '../../src/core/verify/command.js';
import { createMetricGrader } from '../../src/core/verify/metric.js';
import { CommandProvider } from '../../src/models/command.js';
import { RunSandbox } from '../../src/process/run-sandbox.js';
import { SandboxUnavailableError } from '../../src/process/sandbox.js';
import { commandGraderSchema, metricGraderSchema } from '../../src/core/definition/schema.js';
import { Worktrees } from '../../src/workspace/worktrees.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { makeRequest } from '../models/helpers.js';
import { gradeContext, testDefinition } from '../verify/context.js';
import { HOLDOUT_MARK, makeSandboxFixture, STATE_MARK, type SandboxFixture } from './sandbox-fixture.js';

let fx: SandboxFixture;
let server: Server;
let port = 0;
let requests = 0;

beforeAll(async () => {
  fx = await makeSandboxFixture();
  server = createServer((_req, res) => {
    requests++;
    res.end('REACHED');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fx?.cleanup();
});

const unique = (): string => `${process.pid}-${Math.random().toString(36).slice(2)}`;
const fetchScript = (): string =>
  `node -e "fetch('http://127.0.0.1:${port}/').then(r => r.text()).then(t => console.log(t), () => { console.log('BLOCKED'); process.exit(1); })"`;

function commandGrader(command: string, holdout = false) {
  return createCommandGrader(commandGraderSchema.parse({ command, holdout }), 0);
}

describe('command and metric graders run sandboxed', () => {
  it('a grader cannot reach the network (a test suite phoning a server)', async () => {
    requests = 0;
    const verdict = await commandGrader(fetchScript()).grade(
      gradeContext(fx.worktree, { sandbox: fx.sandbox }),
    );
    expect(verdict.passed).toBe(false);
    expect(verdict.feedback).toContain('BLOCKED');
    expect(requests).toBe(0);
  });

  it('a grader cannot write outside the worktree, nor to the main checkout', async () => {
    const name = `loops-grader-${unique()}`;
    const readme = path.join(fx.repo, 'README.md');
    await commandGrader(`echo pwned > /tmp/${name}; echo pwned > ${readme}`).grade(
      gradeContext(fx.worktree, { sandbox: fx.sandbox }),
    );
    expect(existsSync(path.join(os.tmpdir(), name))).toBe(false);
    expect(readFileSync(readme, 'utf8')).toBe('hello\n');
  });

  it("a grader that is not a holdout (it runs the agent's code) does not see the holdout files", async () => {
    const verdict = await commandGrader(
      `cat holdout/check.sh answers.txt ${fx.repo}/state/esc/runs/old.md; echo done`,
    ).grade(gradeContext(fx.worktree, { sandbox: fx.sandbox }));
    expect(verdict.feedback).toContain('done');
    expect(verdict.feedback).not.toContain(HOLDOUT_MARK);
    expect(verdict.feedback).not.toContain(STATE_MARK);
  });

  it('a holdout grader sees its own files, and still not state/', async () => {
    const verdict = await commandGrader(
      `grep -c ${HOLDOUT_MARK} holdout/check.sh answers.txt; cat ${fx.repo}/state/esc/runs/old.md`,
      true,
    ).grade(gradeContext(fx.worktree, { sandbox: fx.sandbox }));
    expect(verdict.feedback).toContain('holdout/check.sh:1');
    expect(verdict.feedback).toContain('answers.txt:1');
    expect(verdict.feedback).not.toContain(STATE_MARK);
  });

  it('a metric grader cannot reach the network either', async () => {
    requests = 0;
    const worktrees = await Worktrees.open(fx.repo);
    const grader = createMetricGrader(
      metricGraderSchema.parse({
        metric: { command: `${fetchScript()}; echo score: 1`, pattern: 'score: (\\d+)' },
      }),
      0,
    );
    const ctx = gradeContext(fx.worktree, {
      sandbox: fx.sandbox,
      worktrees,
      resultsPath: path.join(os.tmpdir(), `loops-results-${unique()}.tsv`),
      baseSha: (await worktrees.headSha(fx.worktree)).trim(),
    });
    const verdict = await grader.grade(ctx);
    expect(verdict.feedback).not.toContain('REACHED');
    expect(requests).toBe(0);
  });
});

describe('the command provider runs sandboxed', () => {
  it('its agent cannot write outside the worktree, reach the network or see a secret', async () => {
    requests = 0;
    const name = `loops-agent-${unique()}`;
    const secret = 'sk-command-provider-4f1e9a7b';
    const provider = new CommandProvider({
      command: [
        'sh',
        '-c',
        `cat > /dev/null; echo pwned > /tmp/${name}; ${fetchScript()}; echo "key=[$COPY_OF_KEY]"; echo wrote > in-worktree.txt`,
      ],
      env: { ...process.env, SERVICE_API_KEY: secret, COPY_OF_KEY: secret },
      sandbox: fx.sandbox,
    });
    const response = await provider.complete(makeRequest({ cwd: fx.worktree }));
    expect(response.text).toContain('BLOCKED');
    expect(response.text).toContain('key=[]');
    expect(requests).toBe(0);
    expect(existsSync(path.join(os.tmpdir(), name))).toBe(false);
    expect(readFileSync(path.join(fx.worktree, 'in-worktree.txt'), 'utf8')).toBe('wrote\n');
  });

  it('says when its program is not found inside the sandbox', async () => {
    const provider = new CommandProvider({
      command: ['no-such-agent-program'],
      env: process.env,
      sandbox: fx.sandbox,
    });
    await expect(provider.complete(makeRequest({ cwd: fx.worktree }))).rejects.toThrow(
      /was not found on PATH/,
    );
  });
});

describe('sandbox: { env: [...] } passes named variables on purpose', () => {
  it('passes the named ones from loops’ environment, and only those', async () => {
    const sandbox = await fx.open(
      { sandbox: { env: ['DATABASE_URL'] }, verify: [{ command: 'true' }] },
      { DATABASE_URL: 'postgres://localhost/app', OTHER_SETTING: 'not-passed' },
    );
    try {
      const { runShell } = await import('../../src/process/shell.js');
      const result = await runShell('echo "[$DATABASE_URL][$OTHER_SETTING]"', {
        cwd: fx.worktree,
        timeoutMs: 30_000,
        outputCap: 10_000,
        env: { PATH: process.env.PATH ?? '' },
        sandbox,
      });
      expect(result.output).toBe('[postgres://localhost/app][]\n');
    } finally {
      await sandbox.dispose();
    }
  });
});

describe('the setup profile', () => {
  it('may reach the network and write the shared cache; the agent profile may do neither', async () => {
    const { dir: cache, cleanup } = await import('../tools/temp-dir.js').then((m) =>
      m.tempDir('setup-cache'),
    );
    try {
      const definition = testDefinition({ name: 'esc' }, { name: 'esc', verify: [{ command: 'true' }] });
      const sandbox = await RunSandbox.open({
        definition,
        repoRoot: fx.repo,
        env: process.env,
        setupCache: cache,
      });
      await sandbox.enter(fx.worktree);
      const { runShell } = await import('../../src/process/shell.js');
      const command = `${fetchScript()}; echo cached > ${cache}/dep.tgz`;
      requests = 0;
      await runShell(command, {
        cwd: fx.worktree,
        timeoutMs: 30_000,
        outputCap: 10_000,
        sandbox,
        profile: 'agent',
      });
      expect(requests).toBe(0);
      expect(existsSync(path.join(cache, 'dep.tgz'))).toBe(false);
      await runShell(command, {
        cwd: fx.worktree,
        timeoutMs: 30_000,
        outputCap: 10_000,
        sandbox,
        profile: 'setup',
      });
      expect(requests).toBe(1);
      expect(await readFile(path.join(cache, 'dep.tgz'), 'utf8')).toBe('cached\n');
      await sandbox.dispose();
    } finally {
      await cleanup();
    }
  });
});

describe('when the sandbox cannot start', () => {
  const missing = '/nonexistent/bin/bwrap';
  let repo: TestRepo;
  let supervisor: Supervisor | undefined;

  afterEach(async () => {
    await supervisor?.shutdown();
    supervisor = undefined;
    await repo?.cleanup();
  });

  it('opening it fails with the install command and the opt-out', async () => {
    const definition = testDefinition();
    const opening = RunSandbox.open({ definition, repoRoot: fx.repo, env: process.env, bwrapPath: missing });
    await expect(opening).rejects.toBeInstanceOf(SandboxUnavailableError);
    await expect(opening).rejects.toThrow(/apt-get install bubblewrap.*sandbox: off/);
  });

  it('the run fails before its first model call, and says how to fix it', async () => {
    repo = await makeRepo();
    supervisor = await Supervisor.open(repo.dir, { sandbox: { bwrapPath: missing } });
    const seen: LoopEvent[] = [];
    supervisor.subscribe((e) => seen.push(e));
    const result = await supervisor.start('fix-tests');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('apt-get install bubblewrap');
    expect(seen.some((e) => e.type === 'model.request')).toBe(false);
    expect(seen.some((e) => e.type === 'tool.call')).toBe(false);
  });

  it('the demo fallback runs unconfined and says so in run.started, an error line and the summary', async () => {
    repo = await makeRepo();
    supervisor = await Supervisor.open(repo.dir, { sandbox: { bwrapPath: missing, fallback: 'unconfined' } });
    const seen: LoopEvent[] = [];
    supervisor.subscribe((e) => seen.push(e));
    const result = await supervisor.start('fix-tests');
    expect(result.outcome).toBe('verified');
    const started = seen.find((e) => e.type === 'run.started');
    expect(started?.type === 'run.started' && started.sandbox?.kind).toBe('off');
    const warning = seen.find((e) => e.type === 'run.error' && e.kind === 'sandbox');
    expect(warning?.type === 'run.error' && warning.message).toMatch(
      /UNCONFINED.*apt-get install bubblewrap/,
    );
    expect(await readFile(result.summaryPath, 'utf8')).toMatch(/\| sandbox \| unconfined: .*bubblewrap/);
  });

  it('a loop with sandbox: off runs unconfined by choice, and its record says so', async () => {
    repo = await makeRepo();
    const loop = await readFile(path.join(repo.dir, 'loops', 'fix-tests', 'LOOP.md'), 'utf8');
    await writeFile(
      path.join(repo.dir, 'loops', 'fix-tests', 'LOOP.md'),
      loop.replace(/^---\n/, '---\nsandbox: off\n'),
    );
    await repo.git('commit', '-qam', 'sandbox off');
    supervisor = await Supervisor.open(repo.dir, { sandbox: { bwrapPath: missing } });
    const result = await supervisor.start('fix-tests');
    expect(result.outcome).toBe('verified');
    expect(await readFile(result.summaryPath, 'utf8')).toContain(
      '| sandbox | unconfined: sandbox: off in LOOP.md |',
    );
  });

  it('a confined run says bubblewrap in run.started and its summary', async () => {
    repo = await makeRepo();
    supervisor = await Supervisor.open(repo.dir);
    const seen: LoopEvent[] = [];
    supervisor.subscribe((e) => seen.push(e));
    const result = await supervisor.start('fix-tests');
    expect(result.outcome).toBe('verified');
    const started = seen.find((e) => e.type === 'run.started');
    expect(started?.type === 'run.started' && started.sandbox?.kind).toBe('bubblewrap');
    expect(await readFile(result.summaryPath, 'utf8')).toMatch(/\| sandbox \| bubblewrap: .*network off/);
  });
});
