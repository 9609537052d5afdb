/** workspace.setup: commands that prepare a new worktree before the first iteration. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Supervisor } from '../../src/core/supervisor.js';
import { readTrace } from '../../src/state/trace.js';
import { findResumePoint } from '../../src/commands/resume.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

  it("runs a resumed run's setup on the base commit's files, never the agent's, then works on the agent's commit", async () => {
    // The person's setup script; the agent rewrites it to reach the network (its own phase cannot).
    await writeFile(join(repo.dir, 'prepare.js'), "console.log('person setup')\n");
    const agents = `fetch('${url}').then(() => console.log('agent setup'))`;
    const script = `turns:
  - text: Reading, then rewriting the setup script.
    tool_calls:
      - { name: read_file, input: { path: prepare.js } }
      - { name: write_file, input: { path: prepare.js, content: ${JSON.stringify(agents)} } }
  - text: done
`;
    await repo.addLoop(
      'prepared',
      loopMd(['node prepare.js'], 'grep -rq --include=*.js fetch .').replace(
        'iterations: 1',
        'iterations: 2',
      ),
      script,
    );
    const first = await run();
    expect(first.outcome).toBe('verified');
    const record = supervisor?.runIndex.run('prepared', first.run);
    if (!record || !supervisor) throw new Error('no record of the first run');
    const point = await findResumePoint(repo.dir, supervisor.paths, record);
    expect(point.commit).not.toBe(point.baseSha);

    const resumed = await supervisor.start('prepared', 'resume', undefined, { resume: point });
    const events = await readTrace(resumed.tracePath);
    const note = events.find((e) => e.type === 'run.error' && e.kind === 'setup.base');
    expect(note?.type === 'run.error' && note.message).toContain(
      `workspace.setup runs on the files of the base commit ${point.baseSha.slice(0, 12)}`,
    );
    const setupResult = events.find((e) => e.type === 'setup.result');
    expect(setupResult?.type === 'setup.result' && [setupResult.ok, setupResult.output.trim()]).toEqual([
      true,
      'person setup',
    ]);
    expect(hits).toBe(0);
    // After setup the agent works on its own commit: it reads the script it wrote.
    const read = events.find((e) => e.type === 'tool.result' && e.name === 'read_file');
    expect(read?.type === 'tool.result' && read.output).toContain('agent setup');
    expect(resumed.outcome).toBe('verified');
  });
});
