import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { makeRepo, type TestRepo } from './helpers.js';
import { nextEvent } from '../support/holder-loop.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  // A loop that holds its place until a person answers its approval: a run in flight on demand.
  await repo.addLoop(
    'holder',
    `---
name: holder
agent: { provider: scripted }
verify:
  - command: "true"
approve: ["run:*"]
budget: { iterations: 1 }
---
Hold.
`,
    `turns:
  - when: { step: work, contains: "iteration 1 of" }
    tool_calls:
      - { name: run, input: { command: ls } }
`,
  );
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await repo.cleanup();
});

const next = nextEvent;

describe('the limit on runs at once', () => {
  it('queues a start beyond the limit, says so, and starts it when a run ends', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true, maxConcurrent: 1 });
    const s = supervisor;
    const seen: LoopEvent[] = [];
    s.subscribe((e) => seen.push(e));
    const asked = next(s, (e) => e.type === 'approval.requested');
    const first = s.send({ type: 'start', loop: 'holder' });
    expect(first).toMatchObject({ status: 'started' });
    const request = await asked;

    const queued = s.send({ id: 'q1', type: 'start', loop: 'fix-tests' });
    expect(queued).toMatchObject({ ok: true, status: 'queued' });
    expect(queued.reason).toContain('the limit on runs at once');
    // A second start of the same queued loop is refused: it is already waiting.
    expect(s.send({ type: 'start', loop: 'fix-tests' })).toMatchObject({ status: 'refused' });
    const snap = s.snapshot();
    expect(snap.queue).toEqual([expect.objectContaining({ id: 'q1', loop: 'fix-tests', trigger: 'manual' })]);
    expect(snap).toMatchObject({ running: 1, inFlight: 1, limit: 1 });
    expect(snap.seq).toBeGreaterThan(0);
    const queueEvent = seen.find((e) => e.type === 'queue.changed');
    expect(queueEvent).toMatchObject({
      source: 'supervisor',
      run: 'supervisor',
      queue: [expect.objectContaining({ loop: 'fix-tests' })],
    });

    const startedFromQueue = next(
      s,
      (e) => e.type === 'command.replied' && e.id === 'q1' && e.status === 'started',
    );
    const approvalId = request.type === 'approval.requested' ? request.approvalId : '';
    s.send({ type: 'approve', loop: 'holder', approvalId });
    const started = await startedFromQueue;
    const runId = started.type === 'command.replied' ? started.target : undefined;
    expect(runId).toBeTruthy();
    const ended = await next(s, (e) => e.type === 'run.ended' && e.run === runId);
    expect(ended).toMatchObject({ loop: 'fix-tests', outcome: 'verified' });
    expect(s.snapshot().queue).toEqual([]);
    // The supervisor stream has its own seq, increasing by one.
    const own = seen.filter((e) => e.run === 'supervisor').map((e) => e.seq);
    expect(own).toEqual(own.map((_, i) => (own[0] ?? 0) + i));
  });

  it('starts queued runs one at a time when the limit allows only one', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true, maxConcurrent: 1 });
    const s = supervisor;
    const asked = next(s, (e) => e.type === 'approval.requested');
    s.send({ type: 'start', loop: 'holder' });
    const request = await asked;
    expect(s.send({ id: 'first', type: 'start', loop: 'fix-tests' })).toMatchObject({ status: 'queued' });
    expect(s.send({ id: 'second', type: 'start', loop: 'tidy-comments' })).toMatchObject({
      status: 'queued',
    });
    let queueWhenFirstStarted: string[] | undefined;
    const firstStarted = next(
      s,
      (e) => e.type === 'command.replied' && e.id === 'first' && e.status === 'started',
    );
    const secondStarted = next(
      s,
      (e) => e.type === 'command.replied' && e.id === 'second' && e.status === 'started',
    );
    void firstStarted.then(() => {
      queueWhenFirstStarted = s.snapshot().queue.map((q) => q.id);
    });
    s.send({
      type: 'approve',
      loop: 'holder',
      approvalId: request.type === 'approval.requested' ? request.approvalId : '',
    });
    await firstStarted;
    await secondStarted;
    expect(queueWhenFirstStarted).toEqual(['second']);
  });

  it('answers every command as a supervisor event too, refusals included', async () => {
    supervisor = await Supervisor.open(repo.dir);
    const seen: LoopEvent[] = [];
    supervisor.subscribe((e) => seen.push(e));
    supervisor.send({ id: 'x1', type: 'stop', loop: 'fix-tests' });
    supervisor.send({ id: 'x2', type: 'start', loop: 'nope' });
    expect(seen.filter((e) => e.type === 'command.replied')).toEqual([
      expect.objectContaining({ id: 'x1', command: 'stop', ok: false, status: 'refused', loop: 'fix-tests' }),
      expect.objectContaining({ id: 'x2', command: 'start', ok: false, reason: 'no loop named nope' }),
    ]);
  });

  it('removes a queued start when its loop is stopped before it runs', async () => {
    supervisor = await Supervisor.open(repo.dir, { attended: true, maxConcurrent: 1 });
    const s = supervisor;
    const asked = next(s, (e) => e.type === 'approval.requested');
    s.send({ type: 'start', loop: 'holder' });
    await asked;
    expect(s.send({ type: 'start', loop: 'fix-tests' })).toMatchObject({ status: 'queued' });
    expect(s.send({ type: 'stop', loop: 'fix-tests' })).toMatchObject({
      ok: true,
      reason: 'removed from the queue',
    });
    expect(s.snapshot().queue).toEqual([]);
  });
});

describe('instructions for an idle loop', () => {
  it('are kept in state/<loop>/pending.json, survive a restart, and reach the next run', async () => {
    supervisor = await Supervisor.open(repo.dir);
    expect(
      supervisor.send({ type: 'instruct', loop: 'fix-tests', text: 'keep it short', now: false }),
    ).toMatchObject({
      status: 'queued',
    });
    supervisor.send({ type: 'instruct', loop: 'fix-tests', text: 'and tidy', now: false });
    expect(supervisor.snapshot().pendingInstructions).toEqual([
      { loop: 'fix-tests', texts: ['keep it short', 'and tidy'] },
    ]);
    await supervisor.shutdown();
    const file = join(repo.dir, 'state', 'fix-tests', 'pending.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ instructions: ['keep it short', 'and tidy'] });

    supervisor = await Supervisor.open(repo.dir);
    expect(supervisor.snapshot().pendingInstructions).toEqual([
      { loop: 'fix-tests', texts: ['keep it short', 'and tidy'] },
    ]);
    const seen: LoopEvent[] = [];
    supervisor.subscribe((e) => seen.push(e));
    await supervisor.start('fix-tests');
    const received = seen.filter((e) => e.type === 'instruction.received');
    expect(received.map((e) => e.type === 'instruction.received' && e.text)).toEqual([
      'keep it short',
      'and tidy',
    ]);
    expect(received[0]?.iteration).toBe(1);
    await supervisor.shutdown();
    expect(existsSync(file)).toBe(false);
    expect(supervisor.snapshot().pendingInstructions).toEqual([]);
  });

  it('refuses to open over a pending.json it cannot read, naming the file, and does not overwrite it', async () => {
    const file = join(repo.dir, 'state', 'fix-tests', 'pending.json');
    supervisor = await Supervisor.open(repo.dir);
    await supervisor.shutdown();
    supervisor = undefined;
    mkdirSync(join(repo.dir, 'state', 'fix-tests'), { recursive: true });
    writeFileSync(file, '{ not json');
    await expect(Supervisor.open(repo.dir)).rejects.toThrow(/pending\.json: not valid JSON/);
    expect(readFileSync(file, 'utf8')).toBe('{ not json');
    // The failed open let the state folder go: once the file is fixed, loops opens.
    writeFileSync(file, '{"instructions": ["x"]}');
    supervisor = await Supervisor.open(repo.dir);
    expect(supervisor.snapshot().pendingInstructions).toEqual([{ loop: 'fix-tests', texts: ['x'] }]);
  });
});
