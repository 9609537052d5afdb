/**
 * A webhook's secret is kept from the agent whatever its variable is called: `secret_env: HOOK_SIG`
 * names nothing process/env.ts would drop by its pattern, so loops drops it by name once the loop is
 * loaded. A real `loops run` whose agent prints its environment with the `run` tool, then a grader
 * that fails if the secret was there.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

const SECRET = 'whsec-3f9a1c7d0b2e4a68';
let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-hook-secret-'));
});

afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

it("a webhook's secret_env never reaches the run tool's environment, nor the grader's", async () => {
  await repo.addLoop(
    'hooked',
    `---
name: hooked
agent: { provider: scripted }
trigger: { webhook: { secret_env: HOOK_SIG } }
verify:
  - command: "test -s seen-env.txt && ! grep -q HOOK_SIG seen-env.txt && test -z \\"$HOOK_SIG\\""
budget: { iterations: 1 }
---
Look around.
`,
    `turns:
  - tool_calls:
      - { name: run, input: { command: "env > seen-env.txt; env" } }
`,
  );
  const result = await runCli(['run', 'hooked'], {
    cwd: repo.dir,
    scratch,
    env: { HOOK_SIG: SECRET, COPY_OF_SIG: `x${SECRET}y` },
  });
  expect(result.stdout.split('\n')[0]).toMatch(/^hooked: verified/);
  // The run tool's output is in the trace and the summary: neither the variable nor its value (nor a copy) is.
  const state = join(repo.dir, 'state', 'hooked');
  const files = [
    ...(await readdir(join(state, 'traces'))).map((f) => join(state, 'traces', f)),
    ...(await readdir(join(state, 'runs'))).map((f) => join(state, 'runs', f)),
  ];
  const text = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
  expect(text).toContain('seen-env.txt');
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('HOOK_SIG=');
}, 120_000);
