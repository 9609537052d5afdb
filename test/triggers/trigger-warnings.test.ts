/**
 * Trigger settings accepted but doing nothing are said: `timezone`, `catch_up` or `debounce` without
 * the trigger they tune warn at their line; a cron that is never due (the 31st of February) is an
 * error; and `loops list`, with no screen or daemon running, says that triggers only fire while one
 * runs. The built CLI on a real repository.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-trigger-warn-'));
});
afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const SCRIPT = 'turns:\n  - text: Done.\n';
const loop = (name: string, trigger: string[]): string =>
  ['---', `name: ${name}`, 'agent: { provider: scripted }', 'trigger:', ...trigger, '---', 'x', ''].join(
    '\n',
  );

it('warns about trigger settings without their trigger, refuses a never-due cron, and list says who keeps them', async () => {
  await repo.addLoop(
    'tuned',
    loop('tuned', ['  timezone: Europe/Berlin', '  catch_up: true', '  debounce: 5']),
    SCRIPT,
  );
  await repo.addLoop('never', loop('never', ['  cron: "0 0 31 2 *"']), SCRIPT);
  await repo.addLoop(
    'nightly',
    loop('nightly', ['  cron: "0 3 * * *"', '  timezone: UTC', '  catch_up: false']),
    SCRIPT,
  );

  const tuned = await runCli(['validate', 'tuned'], { scratch, cwd: repo.dir });
  expect(tuned.exitCode).toBe(0);
  expect(tuned.stdout).toContain(
    'loops/tuned/LOOP.md:5: trigger.timezone: warning: timezone is the zone a cron expression is read in, but this loop has no trigger.cron',
  );
  expect(tuned.stdout).toContain('loops/tuned/LOOP.md:6: trigger.catch_up: warning:');
  expect(tuned.stdout).toContain(
    'loops/tuned/LOOP.md:7: trigger.debounce: warning: debounce is the quiet time before a watched change starts a run, but this loop has no trigger.watch',
  );

  const never = await runCli(['validate', 'never'], { scratch, cwd: repo.dir });
  expect(never.exitCode).not.toBe(0);
  expect(never.stdout + never.stderr).toMatch(
    /loops\/never\/LOOP\.md:5: trigger\.cron: .*"0 0 31 2 \*" is never due/,
  );

  const nightly = await runCli(['validate', 'nightly'], { scratch, cwd: repo.dir });
  expect(nightly.exitCode).toBe(0);
  expect(nightly.stdout).not.toContain('warning');

  const listed = await runCli(['list'], { scratch, cwd: repo.dir });
  expect(listed.stdout).toContain(
    'triggers (cron, watch, webhook, goal) fire only while loops or loops daemon runs here',
  );
}, 60_000);
