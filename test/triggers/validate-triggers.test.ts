/**
 * `loops validate` on webhook and triage settings that would do nothing as written: a webhook whose
 * secret variable is not set where loops runs, a triage model nobody calls, a triage instruction on a
 * provider that cannot triage or on a loop with no triaged trigger.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

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

const SCRIPT = 'turns:\n  - text: Done.\n';

describe('validate on webhooks and triage', () => {
  it('warns when the webhook secret variable is not set here, and not once it is', async () => {
    await repo.addLoop(
      'hooked',
      [
        '---',
        'name: hooked',
        'agent: { provider: scripted }',
        'trigger: { webhook: { secret_env: HOOK_SECRET_X } }',
        '---',
        'x',
        '',
      ].join('\n'),
      SCRIPT,
    );
    const without = await runCli(['validate', 'hooked'], { scratch, cwd: repo.dir });
    expect(without.exitCode).toBe(0);
    expect(without.stdout).toContain(
      'warning: trigger.webhook: the secret variable HOOK_SECRET_X is not set in this environment; POST /hooks/hooked answers 503',
    );
    const withIt = await runCli(['validate', 'hooked'], {
      scratch,
      cwd: repo.dir,
      env: { HOOK_SECRET_X: 's3cret' },
    });
    expect(withIt.exitCode).toBe(0);
    expect(withIt.stdout).not.toContain('HOOK_SECRET_X');
    expect(withIt.stdout).not.toContain('s3cret');
  });

  it('warns at the line of triage settings that would never be used', async () => {
    await repo.addLoop(
      'unused',
      [
        '---',
        'name: unused',
        'agent:',
        '  provider: scripted',
        '  route: { triage: small-model }',
        '---',
        'x',
        '',
      ].join('\n'),
      SCRIPT,
    );
    await repo.addLoop(
      'cli',
      [
        '---',
        'name: cli',
        'agent: { provider: claude-code }',
        'trigger:',
        '  webhook: true',
        '  triage: "only src/"',
        '---',
        'x',
        '',
      ].join('\n'),
    );
    await repo.addLoop(
      'manual',
      [
        '---',
        'name: manual',
        'agent: { provider: scripted }',
        'trigger: { triage: "only src/" }',
        '---',
        'x',
        '',
      ].join('\n'),
      SCRIPT,
    );
    await repo.addLoop(
      'fine',
      [
        '---',
        'name: fine',
        'agent:',
        '  provider: scripted',
        '  route: { triage: small-model }',
        'trigger:',
        '  webhook: true',
        '  triage: "only src/"',
        '---',
        'x',
        '',
      ].join('\n'),
      SCRIPT,
    );
    const r = await runCli(['validate'], { scratch, cwd: repo.dir, env: { LOOPS_WEBHOOK_SECRET: 'x' } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      'loops/unused/LOOP.md:5: agent.route.triage: warning: nothing triages in this loop',
    );
    expect(r.stdout).toContain(
      'loops/cli/LOOP.md:6: trigger.triage: warning: the claude-code provider cannot make a triage call',
    );
    expect(r.stdout).toContain(
      'loops/manual/LOOP.md:4: trigger.triage: warning: only webhook, cron, watch events are triaged',
    );
    const fine = r.stdout.split('\n').filter((line) => line.includes('loops/fine/'));
    expect(fine.filter((line) => line.includes('triage'))).toEqual([]);
  });
});
