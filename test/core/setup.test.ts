/** workspace.setup: commands that prepare a new worktree before the first iteration. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Supervisor } from '../../src/core/supervisor.js';
import { readTrace } from '../../src/state/trace.js';
import { makeRepo, type TestRepo } from './helpers.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;
let server: Server;
let url: string;
let hits = 0;

beforeEach(async () => {
  repo = await makeRepo();
  hits = 0;
  server = createServer((_req, res) => {
    hits += 1;
    res.end('from the registry');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await repo.cleanup();
});

const fetchTo = (file: string): string =>
  `node -e "fetch('${'${URL}'}').then(r => r.text()).then(t => require('fs').writeFileSync('${file}', t))"`;

function loopMd(setup: string[], grader: string): string {
  return `---
name: prepared
agent: { provider: scripted }
workspace:
  setup: ${JSON.stringify(setup)}
verify:
  - command: ${JSON.stringify(grader)}
budget: { iterations: 1 }
---
Nothing to do.
`;
}

async function run() {
  supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
  return supervisor.start('prepared');
}

describe('workspace.setup', () => {
  it('prepares the worktree with network access before the first iteration; the graders use what it made', async () => {
    const setup = [fetchTo('vendor.txt').replace('${URL}', url)];
    await repo.addLoop(
      'prepared',
      loopMd(setup, 'grep -rq --include=*.txt "from the registry" .'),
      'turns:\n  - text: done\n',
    );
    const result = await run();
    const events = await readTrace(result.tracePath);
    expect(result.outcome).toBe('verified');
    expect(hits).toBe(1);
    const setupResult = events.find((e) => e.type === 'setup.result');
    expect(setupResult?.type === 'setup.result' && setupResult.ok).toBe(true);
    const firstModelCall = events.findIndex((e) => e.type === 'model.request');
    expect(events.findIndex((e) => e.type === 'setup.result')).toBeLessThan(firstModelCall);
  });

  it('keeps the network off for the graders and the agent, unlike setup', async () => {
    const grader = fetchTo('grader.txt').replace('${URL}', url);
    await repo.addLoop('prepared', loopMd(['true'], grader), 'turns:\n  - text: done\n');
    const result = await run();
    expect(result.outcome).not.toBe('verified');
    expect(hits).toBe(0);
  });

  it('ends the run failed with the command and the tail of its output when a setup command fails', async () => {
    await repo.addLoop(
      'prepared',
      loopMd(['echo installing', 'echo "npm ERR! missing registry" >&2; exit 7', 'echo never'], 'true'),
      'turns:\n  - text: done\n',
    );
    const result = await run();
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('workspace.setup[1]');
    expect(result.reason).toContain('exited with 7');
    expect(result.reason).toContain('npm ERR! missing registry');
    const events = await readTrace(result.tracePath);
    expect(events.filter((e) => e.type === 'setup.started').length).toBe(2);
    expect(events.some((e) => e.type === 'model.request')).toBe(false);
  });
});
