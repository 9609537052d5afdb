import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CronJob } from '../../src/triggers/cron.js';
import { triggerFile } from '../../src/triggers/trigger-state.js';
import type { TriggerContext } from '../../src/core/trigger-context.js';
import { definition, fakeContext, type FakeContext } from './fake-context.js';

let fake: FakeContext;
let job: CronJob | undefined;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});

afterEach(async () => {
  job?.stop();
  await job?.settled();
  job = undefined;
  vi.useRealTimers();
  await fake.cleanup();
});

async function startAt(iso: string, frontMatter: string, kept?: object): Promise<CronJob> {
  vi.setSystemTime(new Date(iso));
  fake = await fakeContext([await definition('nightly', frontMatter)]);
  if (kept) {
    const file = triggerFile(fake.ctx.paths, 'nightly', 'cron');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(kept));
  }
  job = new CronJob();
  await job.start(fake.ctx);
  return job;
}

const starts = (): TriggerContext[] =>
  fake.sent.flatMap((c) => (c.type === 'start' && c.context ? [c.context] : []));

describe('the cron trigger', () => {
  it('starts the loop at each due time, with the due time in its context, and shows the next one', async () => {
    const cron = await startAt('2026-12-02T08:59:30Z', 'trigger: { cron: "0 9 * * *", timezone: UTC }');
    expect(cron.info('nightly')).toEqual({ nextDue: '2026-12-02T09:00:00.000Z' });
    expect(fake.emitted).toContainEqual(
      expect.objectContaining({
        source: 'trigger',
        body: { type: 'schedule.next', nextDue: '2026-12-02T09:00:00.000Z' },
      }),
    );
    expect(fake.sent).toEqual([]);

    await vi.advanceTimersByTimeAsync(29_000);
    expect(fake.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.sent).toEqual([
      expect.objectContaining({ type: 'start', loop: 'nightly', overlap: 'queue', trigger: 'cron' }),
    ]);
    expect(starts()[0]).toMatchObject({ kind: 'cron', at: '2026-12-02T09:00:00.000Z' });
    expect(starts()[0]?.detail).toContain('0 9 * * *');
    expect(fake.emitted.map((e) => e.body)).toContainEqual(
      expect.objectContaining({ type: 'trigger.fired', trigger: 'cron', status: 'started', target: 'run-1' }),
    );
    expect(cron.info('nightly')).toEqual({ nextDue: '2026-12-03T09:00:00.000Z' });

    // A day later it fires again, once.
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(starts()).toHaveLength(2);
    await cron.settled();
    const kept = JSON.parse(await readFile(triggerFile(fake.ctx.paths, 'nightly', 'cron'), 'utf8')) as {
      lastDue: string;
    };
    expect(kept.lastDue).toBe('2026-12-03T09:00:00.000Z');
  });

  it('reads the expression in its time zone', async () => {
    // 09:00 in Tokyo is 00:00 UTC: at 00:30 UTC that has passed, so the next is tomorrow's.
    const tokyo = await startAt(
      '2026-12-02T00:30:00Z',
      'trigger: { cron: "0 9 * * *", timezone: Asia/Tokyo }',
    );
    expect(tokyo.info('nightly')).toEqual({ nextDue: '2026-12-03T00:00:00.000Z' });
    tokyo.stop();
    await tokyo.settled();
    await fake.cleanup();
    // New York in December is UTC-5; a weekday range is read there too (2026-12-04 is a Friday).
    const ny = await startAt(
      '2026-12-04T15:00:00Z',
      'trigger: { cron: "30 9 * * 1-5", timezone: America/New_York }',
    );
    expect(ny.info('nightly')).toEqual({ nextDue: '2026-12-07T14:30:00.000Z' });
  });

  it('does not replay the due times missed while loops was not running', async () => {
    await startAt('2026-12-05T12:00:00Z', 'trigger: { cron: "0 9 * * *", timezone: UTC }', {
      expression: '0 9 * * *',
      lastDue: '2026-12-02T09:00:00.000Z',
      seenAt: '2026-12-01T00:00:00.000Z',
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.sent).toEqual([]);
    expect(job?.info('nightly')).toEqual({ nextDue: '2026-12-06T09:00:00.000Z' });
    await vi.advanceTimersByTimeAsync(21 * 3600_000);
    expect(starts()).toEqual([expect.objectContaining({ at: '2026-12-06T09:00:00.000Z' })]);
  });

  it('with catch_up runs once at start for the latest missed due time, then keeps the schedule', async () => {
    await startAt('2026-12-05T12:00:00Z', 'trigger: { cron: "0 9 * * *", timezone: UTC, catch_up: true }', {
      expression: '0 9 * * *',
      lastDue: '2026-12-02T09:00:00.000Z',
      seenAt: '2026-12-01T00:00:00.000Z',
    });
    expect(starts()).toHaveLength(1);
    expect(starts()[0]).toMatchObject({ kind: 'cron', at: '2026-12-05T09:00:00.000Z' });
    expect(starts()[0]?.detail).toContain('catching up');
    await vi.advanceTimersByTimeAsync(20 * 3600_000);
    expect(starts()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(starts()).toHaveLength(2);
  });

  it('with catch_up starts nothing when no due time passed since the last record', async () => {
    await startAt('2026-12-05T12:00:00Z', 'trigger: { cron: "0 9 * * *", timezone: UTC, catch_up: true }', {
      expression: '0 9 * * *',
      lastDue: '2026-12-05T09:00:00.000Z',
      seenAt: '2026-12-05T10:00:00.000Z',
    });
    expect(fake.sent).toEqual([]);
  });

  it('with catch_up and no record at all starts nothing (the schedule just began)', async () => {
    await startAt('2026-12-05T12:00:00Z', 'trigger: { cron: "* * * * *", catch_up: true }');
    expect(fake.sent).toEqual([]);
    await job?.settled();
    // It now has a record: the next start may catch up from here.
    const kept = JSON.parse(await readFile(triggerFile(fake.ctx.paths, 'nightly', 'cron'), 'utf8')) as {
      seenAt: string;
    };
    expect(kept.seenAt).toBe('2026-12-05T12:00:00.000Z');
  });

  it('records a start dropped by the overlap rule as skipped, and a refusal as refused', async () => {
    await startAt('2026-12-02T08:59:59Z', 'trigger: { cron: "* * * * *", overlap: drop }');
    fake.answer = () => ({
      ok: false,
      status: 'refused',
      reason: 'dropped: nightly is running (overlap: drop)',
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.sent[0]).toMatchObject({ overlap: 'drop' });
    fake.answer = () => ({ ok: false, status: 'refused', reason: 'loops is shutting down' });
    await vi.advanceTimersByTimeAsync(60_000);
    const fired = fake.emitted.flatMap((e) => (e.body.type === 'trigger.fired' ? [e.body] : []));
    expect(fired.map((f) => [f.status, f.reason])).toEqual([
      ['skipped', 'dropped: nightly is running (overlap: drop)'],
      ['refused', 'loops is shutting down'],
    ]);
  });

  it('follows an edited LOOP.md on reload, and stops a removed schedule', async () => {
    const cron = await startAt('2026-12-02T08:00:00Z', 'trigger: { cron: "0 9 * * *", timezone: UTC }');
    fake.defs = [await definition('nightly', 'trigger: { cron: "30 8 * * *", timezone: UTC }')];
    fake.publish({
      type: 'loops.changed',
      added: [],
      removed: [],
      changed: ['nightly'],
      loop: 'nightly',
      run: 'supervisor',
      source: 'supervisor',
      time: '',
      seq: 1,
      span: '',
    } as never);
    await vi.waitFor(() => expect(cron.info('nightly')).toEqual({ nextDue: '2026-12-02T08:30:00.000Z' }));
    fake.defs = [];
    fake.publish({ type: 'loops.changed', added: [], removed: ['nightly'], changed: [] } as never);
    await vi.waitFor(() => expect(cron.info('nightly')).toEqual({}));
    expect(fake.emitted.at(-1)?.body).toEqual({ type: 'schedule.next', nextDue: null });
    await vi.advanceTimersByTimeAsync(2 * 3600_000);
    expect(fake.sent).toEqual([]);
  });

  it('fires nothing after it is stopped', async () => {
    const cron = await startAt('2026-12-02T08:59:00Z', 'trigger: { cron: "* * * * *" }');
    cron.stop();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(fake.sent).toEqual([]);
  });
});
