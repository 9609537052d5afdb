/**
 * Trigger decisions on disk: every `trigger.fired` and `triage.decided` of a loop is appended to
 * state/NAME/triggers.jsonl by the owner's trigger jobs, in order, and the file is bounded (it rolls
 * over to triggers.old.jsonl). A real supervisor and its event stream.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { JobContext } from '../../src/core/jobs.js';
import { TriggerLogJob, triggerJobs, triggerLogFile } from '../../src/triggers/index.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});
afterEach(async () => {
  await supervisor?.shutdown();
  await repo.cleanup();
});

async function withEmitter(log: TriggerLogJob): Promise<{ s: Supervisor; ctx: JobContext }> {
  supervisor = await Supervisor.open(repo.dir, {});
  let captured: JobContext | undefined;
  await supervisor.addJob(log);
  await supervisor.addJob({ name: 'emitter', start: (c) => void (captured = c), stop: () => undefined });
  if (!captured) throw new Error('no context');
  return { s: supervisor, ctx: captured };
}

const lines = async (file: string): Promise<Array<Record<string, unknown>>> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

it('the owner’s trigger jobs record a triage skip and what each event became, in order', async () => {
  const log = triggerJobs().find((j) => j instanceof TriggerLogJob);
  expect(log).toBeInstanceOf(TriggerLogJob);
  const { s, ctx } = await withEmitter(log as TriggerLogJob);
  ctx.emit('trigger', 'fix-tests', {
    type: 'triage.decided',
    trigger: 'webhook',
    decision: 'skip',
    reason: 'the failure is in docs/',
    model: 'claude-haiku-4-5',
    usd: 0.0004,
  });
  ctx.emit('trigger', 'fix-tests', {
    type: 'trigger.fired',
    trigger: 'webhook',
    detail: 'check_run completed',
    status: 'skipped',
    reason: 'triage: the failure is in docs/',
  });
  await s.shutdown();
  const recorded = await lines(triggerLogFile(s.paths, 'fix-tests'));
  expect(recorded).toMatchObject([
    { event: 'triage', trigger: 'webhook', decision: 'skip', reason: 'the failure is in docs/', usd: 0.0004 },
    { event: 'fired', trigger: 'webhook', status: 'skipped', reason: 'triage: the failure is in docs/' },
  ]);
  expect(typeof recorded[0]?.time).toBe('string');
});

it('rolls the file over to triggers.old.jsonl past its bound', async () => {
  const { s, ctx } = await withEmitter(new TriggerLogJob(400));
  for (let i = 0; i < 6; i++)
    ctx.emit('trigger', 'fix-tests', {
      type: 'trigger.fired',
      trigger: 'cron',
      detail: `due ${i}`,
      status: 'started',
      reason: 'started',
    });
  await s.shutdown();
  const file = triggerLogFile(s.paths, 'fix-tests');
  const now = await lines(file);
  const old = await lines(join(s.paths.loopDir('fix-tests'), 'triggers.old.jsonl'));
  expect((await readFile(file, 'utf8')).length).toBeLessThanOrEqual(400);
  // Nothing lost across the roll, in order; only the file before the older one is dropped.
  const details = [...old, ...now].map((r) => r.detail);
  expect(details).toEqual(details.slice().sort());
  expect(details.at(-1)).toBe('due 5');
});
