import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFile } from 'node:fs/promises';
import { GoalJob, backoffSeconds } from '../../src/triggers/goal.js';
import { triggerFile } from '../../src/triggers/trigger-state.js';
import type { GoalProgress } from '../../src/core/control.js';
import type { Outcome } from '../../src/core/events.js';
import type { TriggerContext } from '../../src/core/trigger-context.js';
import { definition, fakeContext, type FakeContext } from './fake-context.js';

let fake: FakeContext | undefined;
let job: GoalJob | undefined;

afterEach(async () => {
  job?.stop();
  await job?.settled();
  job = undefined;
  vi.useRealTimers();
  await fake?.cleanup();
  fake = undefined;
});

async function goalLoop(goal: string): Promise<{ f: FakeContext; g: GoalJob }> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date('2026-12-02T10:00:00Z'));
  fake = await fakeContext([await definition('goaler', `trigger: { goal: ${goal} }`)]);
  job = new GoalJob();
  await job.start(fake.ctx);
  return { f: fake, g: job };
}

function started(f: FakeContext, run: string, context?: TriggerContext): void {
  f.publish({
    type: 'run.started',
    iteration: 0,
    loop: 'goaler',
    run,

    time: new Date().toISOString(),
    seq: 1,
    span: run,
    trigger: context?.kind ?? 'manual',
    base: 'HEAD',
    branch: `loops/goaler/${run}`,
    worktree: '/w',
    budget: { iterations: 1, tool_calls: null, usd: null, tokens: null, minutes: null },
    ...(context ? { context } : {}),
  });
}

function ended(f: FakeContext, run: string, outcome: Outcome, usd = 0, reason = `${outcome} reason`): void {
  f.publish({
    type: 'run.ended',
    iteration: 1,
    loop: 'goaler',
    run,

    time: new Date().toISOString(),
    seq: 9,
    span: run,
    outcome,
    reason,
    iterations: 1,
    toolCalls: 0,
    usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    spend: { usd, unpricedCalls: 0 },
    branch: '',
    worktree: '',
    durationMs: 1,
  });
}

/** The goal's restart: answered started with a run id; its run.started follows, as the supervisor's would. */
function restarts(f: FakeContext): TriggerContext[] {
  return f.sent.flatMap((c) => (c.type === 'start' && c.context?.kind === 'goal' ? [c.context] : []));
}

function lastProgress(f: FakeContext): GoalProgress | undefined {
  return f.emitted.flatMap((e) => (e.body.type === 'goal.progress' ? [e.body.progress] : [])).at(-1);
}

describe('the goal trigger', () => {
  it('doubles the back-off after each unverified run, up to ten times it', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffSeconds(30, n))).toEqual([30, 60, 120, 240, 300, 300]);
    expect(backoffSeconds(0, 5)).toBe(0);
  });

  it('restarts an unverified run after its back-off, naming the goal, until one is verified', async () => {
    const { f, g } = await goalLoop('{ runs: 5, backoff: 10 }');
    started(f, 'r1');
    expect(g.info('goaler').goal).toMatchObject({ state: 'active', runs: 1, maxRuns: 5 });
    ended(f, 'r1', 'budget', 0.25);
    expect(g.info('goaler').goal).toMatchObject({
      state: 'active',
      nextAt: '2026-12-02T10:00:10.000Z',
      usd: 0.25,
    });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(restarts(f)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(restarts(f)).toEqual([expect.objectContaining({ goal: { attempt: 2, first: 'r1' } })]);
    expect(f.sent.at(-1)).toMatchObject({ overlap: 'queue', trigger: 'goal 2/5' });
    const run2 = 'run-1';
    started(f, run2, restarts(f)[0]);
    ended(f, run2, 'budget', 0.5);
    // The second back-off is twice the first.
    await vi.advanceTimersByTimeAsync(19_999);
    expect(restarts(f)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(restarts(f)).toHaveLength(2);
    started(f, 'run-2', restarts(f)[1]);
    ended(f, 'run-2', 'verified', 0.25);
    expect(g.info('goaler').goal).toMatchObject({ state: 'met', runs: 3, usd: 1 });
    expect(lastProgress(f)).toMatchObject({ state: 'met', runs: 3 });
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(restarts(f)).toHaveLength(2);
    await g.settled();
    const kept = JSON.parse(await readFile(triggerFile(f.ctx.paths, 'goaler', 'goal'), 'utf8')) as object;
    expect(kept).toMatchObject({ state: 'met', runs: 3, first: 'r1' });
  });

  it.each([
    ['stopped', 'was stopped'],
    ['stalled', 'stalled'],
    ['failed', 'failed'],
  ] as const)('does not restart a run that ended %s', async (outcome, said) => {
    const { f, g } = await goalLoop('{ backoff: 0 }');
    started(f, 'r1');
    ended(f, 'r1', outcome);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(restarts(f)).toEqual([]);
    expect(g.info('goaler').goal).toMatchObject({ state: 'ended' });
    expect(g.info('goaler').goal?.reason).toContain(said);
  });

  it('stops at its budget of runs, and resumes when LOOP.md gives it more', async () => {
    const { f, g } = await goalLoop('{ runs: 2, backoff: 0 }');
    started(f, 'r1');
    ended(f, 'r1', 'budget');
    await vi.advanceTimersByTimeAsync(0);
    started(f, 'run-1', restarts(f)[0]);
    ended(f, 'run-1', 'budget');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(restarts(f)).toHaveLength(1);
    expect(g.info('goaler').goal).toMatchObject({ state: 'spent', runs: 2, maxRuns: 2 });
    expect(g.info('goaler').goal?.reason).toContain('2 of 2 runs');

    f.defs = [await definition('goaler', 'trigger: { goal: { runs: 3, backoff: 0 } }')];
    f.publish({ type: 'loops.changed', added: [], removed: [], changed: ['goaler'] } as never);
    await vi.advanceTimersByTimeAsync(0);
    expect(restarts(f)).toHaveLength(2);
    expect(restarts(f)[1]).toMatchObject({ goal: { attempt: 3, first: 'r1' } });
    expect(g.info('goaler').goal).toMatchObject({ state: 'active', runs: 3, maxRuns: 3 });
  });

  it('stops at its dollars and at its hours', async () => {
    const { f, g } = await goalLoop('{ usd: 1, backoff: 0 }');
    started(f, 'r1');
    ended(f, 'r1', 'budget', 1.5);
    expect(g.info('goaler').goal).toMatchObject({ state: 'spent', maxUsd: 1 });
    g.stop();
    await g.settled();
    await f.cleanup();

    const hours = await goalLoop('{ hours: 1, backoff: 600 }');
    started(hours.f, 'r1');
    vi.setSystemTime(new Date('2026-12-02T10:55:00Z'));
    ended(hours.f, 'r1', 'budget');
    // The back-off runs past the hour: when it ends, the goal is spent rather than started.
    await vi.advanceTimersByTimeAsync(600_000);
    expect(restarts(hours.f)).toEqual([]);
    expect(hours.g.info('goaler').goal).toMatchObject({ state: 'spent' });
    expect(hours.g.info('goaler').goal?.reason).toContain('hour');
  });

  it("begins afresh on a person's start, and ignores runs that are not the goal's", async () => {
    const { f, g } = await goalLoop('{ runs: 3, backoff: 100 }');
    started(f, 'r1');
    ended(f, 'r1', 'budget');
    // A person starts it during the back-off: a new goal, and the old restart never fires.
    started(f, 'p2');
    expect(g.info('goaler').goal).toMatchObject({ state: 'active', runs: 1 });
    ended(f, 'someone-else', 'budget');
    await vi.advanceTimersByTimeAsync(100_000);
    expect(restarts(f)).toEqual([]);
    ended(f, 'p2', 'budget');
    await vi.advanceTimersByTimeAsync(100_000);
    expect(restarts(f)).toEqual([expect.objectContaining({ goal: { attempt: 2, first: 'p2' } })]);
  });

  it('continues an active goal after loops restarts, from goal.json', async () => {
    const { f, g } = await goalLoop('{ runs: 5, backoff: 30 }');
    started(f, 'r1');
    ended(f, 'r1', 'budget', 0.5);
    g.stop();
    await g.settled();
    // A new process on the same state folder.
    const again = new GoalJob();
    job = again;
    await again.start(f.ctx);
    expect(again.info('goaler').goal).toMatchObject({ state: 'active', runs: 1, usd: 0.5 });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(restarts(f)).toEqual([expect.objectContaining({ goal: { attempt: 2, first: 'r1' } })]);
  });

  it('ends the goal when its restart is refused', async () => {
    const { f, g } = await goalLoop('{ backoff: 0 }');
    started(f, 'r1');
    ended(f, 'r1', 'budget');
    f.answer = () => ({ ok: false, status: 'refused', reason: 'goaler has a problem in its LOOP.md' });
    await vi.advanceTimersByTimeAsync(0);
    expect(g.info('goaler').goal).toMatchObject({ state: 'ended', runs: 1 });
    expect(f.emitted.map((e) => e.body)).toContainEqual(
      expect.objectContaining({ type: 'trigger.fired', trigger: 'goal', status: 'refused' }),
    );
  });
});
