import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { makeRepo, type TestRepo } from './helpers.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await repo.cleanup();
});

async function ended(s: Supervisor, run: string): Promise<LoopEvent> {
  return new Promise((resolve) => {
    const off = s.subscribe((e) => {
      if (e.run === run && e.type === 'run.ended') {
        off();
        resolve(e);
      }
    });
  });
}

describe('commands have ids and replies', () => {
  it('answers a start with the run it started, keeping the id the sender gave', async () => {
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const reply = supervisor.send({ id: 'mine', type: 'start', loop: 'fix-tests' });
    expect(reply).toMatchObject({
      id: 'mine',
      type: 'start',
      loop: 'fix-tests',
      ok: true,
      status: 'started',
    });
    expect(reply.run).toBeTruthy();
    await ended(supervisor, reply.run!);
  });

  it('refuses a second start of a running loop, and a start of an unknown loop, saying why', async () => {
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const first = supervisor.send({ type: 'start', loop: 'fix-tests' });
    const done = ended(supervisor, first.run!);
    const second = supervisor.send({ type: 'start', loop: 'fix-tests' });
    expect(second).toMatchObject({ ok: false, status: 'refused' });
    expect(second.reason).toContain('already running');
    expect(second.id).not.toBe(first.id);
    const unknown = supervisor.send({ type: 'start', loop: 'no-such-loop' });
    expect(unknown).toMatchObject({ ok: false, status: 'refused', reason: 'no loop named no-such-loop' });
    await done;
  });

  it('addresses one run: a stop for another run id is refused and the run goes on', async () => {
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const start = supervisor.send({ type: 'start', loop: 'fix-tests' });
    const done = ended(supervisor, start.run!);
    const wrong = supervisor.send({ type: 'stop', loop: 'fix-tests', run: 'not-this-one' });
    expect(wrong).toMatchObject({ ok: false, status: 'refused' });
    const right = supervisor.send({ type: 'stop', loop: 'fix-tests', run: start.run! });
    expect(right).toMatchObject({ ok: true, status: 'done' });
    const end = await done;
    expect(end.type === 'run.ended' && end.outcome).toBe('stopped');
  });

  it('keeps an instruction for an idle loop and refuses a stop of an idle loop', async () => {
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    expect(supervisor.send({ type: 'stop', loop: 'fix-tests' })).toMatchObject({
      ok: false,
      status: 'refused',
    });
    expect(
      supervisor.send({ type: 'instruct', loop: 'fix-tests', text: 'be brief', now: false }),
    ).toMatchObject({
      ok: true,
      status: 'queued',
    });
  });
});
