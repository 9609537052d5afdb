/**
 * Hill-climbing on one loop still keeps every other loop's webhook secret from the agents it runs:
 * `loops improve NAME` loads that loop alone, and a secret variable with an unremarkable name is
 * only known as one once the loop that declares it is loaded. Own test file: the declared names are
 * per process, and no other loop may have been loaded here first.
 */
import { afterEach, expect, it } from 'vitest';
import { scrubEnv } from '../../src/process/env.js';
import { improve } from '../../src/hillclimb/improve.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo | undefined;

afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

it("declares every loop's webhook secret before a hill-climb of another loop runs anything", async () => {
  repo = await makeRepo();
  await repo.addLoop(
    'hooked',
    '---\nname: hooked\nagent: { provider: scripted }\ntrigger: { webhook: { secret_env: HOOK_SIG } }\n---\nReact.\n',
  );
  const env = { PATH: '/usr/bin:/bin', HOOK_SIG: 'a-webhook-signing-secret' };
  expect(scrubEnv(env)).toHaveProperty('HOOK_SIG');
  // tidy-comments has no runs to learn from: the hill-climb ends at once, after loading.
  const result = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
  expect(result.ok).toBe(false);
  expect(scrubEnv(env)).not.toHaveProperty('HOOK_SIG');
});
