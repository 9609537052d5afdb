import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import type { JobContext, SupervisorJob } from '../../src/core/jobs.js';
import type { CallGate, GatedCall } from '../../src/core/budget/call-gate.js';
import { makeRepo, type TestRepo } from './helpers.js';
import { HOLDER, HOLDER_SCRIPT, nextEvent } from '../support/holder-loop.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  // A run that stays in flight until a person answers its approval.
  await repo.addLoop('holder', HOLDER, HOLDER_SCRIPT);
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await repo.cleanup();
});

const next = nextEvent;

/** A job that records its context and can hold starts. */
class ProbeJob implements SupervisorJob {
  readonly name = 'probe';
  ctx: JobContext | undefined;
  hold: string | undefined;
  stopped = 0;
  start(ctx: JobContext): void {
    this.ctx = ctx;
  }
  stop(): void {
    this.stopped += 1;
  }
  info(loop: string) {
    return loop === 'holder' ? { nextDue: '2026-12-02T07:00:00.000Z' } : {};
  }
  holdStart(): string | undefined {
    return this.hold;
  }
}

describe('jobs above the run', () => {
  it('gives a job its context, adds its info to the loop line, and stops it once on shutdown', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const job = new ProbeJob();
    await supervisor.addJob(job);
    expect(job.ctx?.definitions().map((d) => d.name)).toContain('holder');
    expect(supervisor.loops().find((l) => l.name === 'holder')?.nextDue).toBe('2026-12-02T07:00:00.000Z');
    expect(supervisor.loops().find((l) => l.name === 'fix-tests')?.nextDue).toBeUndefined();

    const seen: LoopEvent[] = [];
    supervisor.subscribe((e) => seen.push(e));
    job.ctx?.emit('trigger', 'holder', {
      type: 'trigger.fired',
      trigger: 'cron',
      detail: 'due',
      status: 'skipped',
      reason: 'test',
    });
    job.ctx?.emit('trigger', 'holder', {
      type: 'schedule.next',
      nextDue: null,
    });
    // Its own stream with its own seq, so the store's de-duplication by (run, seq) holds.
    expect(seen.map((e) => [e.source, e.run, e.seq])).toEqual([
      ['trigger', 'trigger', 1],
      ['trigger', 'trigger', 2],
    ]);

    const aborted = job.ctx?.signal;
    await supervisor.shutdown();
    expect(job.stopped).toBe(1);
    expect(aborted?.aborted).toBe(true);
    await expect(supervisor.addJob(new ProbeJob())).rejects.toThrow(/shutting down/);
    supervisor = undefined;
  });

  it('holds starts in the queue while a job says so, and starts them when the queue is drained', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const job = new ProbeJob();
    await supervisor.addJob(job);
    job.hold = 'the fleet spent its daily $5.00';
    const reply = supervisor.send({ id: 'h1', type: 'start', loop: 'holder' });
    expect(reply).toMatchObject({ ok: true, status: 'queued' });
    expect(reply.reason).toContain('daily $5.00');
    expect(supervisor.snapshot().inFlight).toBe(0);

    const started = next(
      supervisor,
      (e) => e.type === 'command.replied' && e.id === 'h1' && e.status === 'started',
    );
    job.hold = undefined;
    job.ctx?.drainQueue();
    await started;
    expect(supervisor.snapshot().inFlight).toBe(1);
  });

  it('queues one triggered start behind a running run, drops a second, and drops with overlap: drop', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const s = supervisor;
    const asked = next(s, (e) => e.type === 'approval.requested');
    expect(s.send({ type: 'start', loop: 'holder' })).toMatchObject({ status: 'started' });
    await asked;

    // A person's start of a running loop is refused, as before.
    expect(s.send({ type: 'start', loop: 'holder' })).toMatchObject({ status: 'refused' });
    expect(s.send({ type: 'start', loop: 'holder', overlap: 'drop' })).toMatchObject({
      ok: false,
      status: 'refused',
      reason: expect.stringContaining('overlap: drop') as string,
    });
    const context = { kind: 'cron' as const, detail: 'cron * * * * *', at: new Date().toISOString() };
    const queued = s.send({ id: 'o1', type: 'start', loop: 'holder', overlap: 'queue', context });
    expect(queued).toMatchObject({ ok: true, status: 'queued' });
    expect(s.snapshot().queue).toEqual([expect.objectContaining({ id: 'o1', trigger: 'cron', context })]);
    expect(s.send({ type: 'start', loop: 'holder', overlap: 'queue', context })).toMatchObject({
      status: 'refused',
      reason: expect.stringContaining('already queued') as string,
    });

    // When the running run ends, the queued start runs with its context, recorded in the index.
    const started = next(s, (e) => e.type === 'command.replied' && e.id === 'o1' && e.status === 'started');
    const approval = s.snapshot().approvals[0];
    expect(approval).toBeDefined();
    s.send({ type: 'deny', loop: 'holder', approvalId: approval?.approvalId ?? '', reason: 'no' });
    const reply = await started;
    const runId = reply.type === 'command.replied' ? (reply.target ?? '') : '';
    const runStarted = await next(s, (e) => e.type === 'run.started' && e.run === runId);
    expect(runStarted).toMatchObject({ context, baseSha: expect.stringMatching(/^[0-9a-f]{40}$/) as string });
    const record = s.runIndex.run('holder', runId);
    expect(record).toMatchObject({
      context,
      trigger: 'cron',
      baseSha: expect.stringMatching(/^[0-9a-f]{40}$/) as string,
    });
  });

  it('reloads edited and added loops, says what changed, and leaves unchanged ones alone', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const changes: LoopEvent[] = [];
    supervisor.subscribe((e) => {
      if (e.type === 'loops.changed') changes.push(e);
    });
    expect(await supervisor.reload()).toEqual({ added: [], removed: [], changed: [] });
    expect(changes).toEqual([]);

    await writeFile(join(repo.dir, 'loops', 'holder', 'LOOP.md'), HOLDER.replace('Hold.', 'Hold on.'));
    await repo.addLoop('second', HOLDER.replace('name: holder', 'name: second'), HOLDER_SCRIPT);
    const result = await supervisor.reload();
    expect(result).toEqual({ added: ['second'], removed: [], changed: ['holder'] });
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ source: 'supervisor', added: ['second'], changed: ['holder'] });
    expect(supervisor.definition('holder')?.task).toContain('Hold on.');
    expect(supervisor.loops().map((l) => l.name)).toContain('second');
  });
});

describe('the call gate', () => {
  it('holds every model call of a run until it lets it go, and a stop ends the wait', async () => {
    const calls: GatedCall[] = [];
    let release: (() => void) | undefined;
    const gate: CallGate = {
      wait: (call, signal) => {
        calls.push(call);
        return new Promise((resolve) => {
          release = () => resolve('go');
          signal.addEventListener('abort', () => resolve('stopped'), { once: true });
        });
      },
    };
    supervisor = await Supervisor.open(repo.dir, { callGate: gate });
    const s = supervisor;
    const reply = s.send({ type: 'start', loop: 'fix-tests' });
    // The first call waits at the gate: no model.request yet.
    await expect.poll(() => calls.length).toBe(1);
    expect(calls[0]).toMatchObject({ loop: 'fix-tests', run: reply.run, step: 'work' });
    const requested = next(s, (e) => e.type === 'model.request');
    release?.();
    await requested;

    // The next call waits again; a stop while it waits ends the run stopped, with no call made.
    await expect.poll(() => calls.length).toBeGreaterThan(1);
    const ended = next(s, (e) => e.type === 'run.ended');
    s.send({ type: 'stop', loop: 'fix-tests' });
    expect(await ended).toMatchObject({ outcome: 'stopped' });
  });
});
