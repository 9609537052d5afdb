/** `hillclimb: { every: N }` under a real supervisor: after the Nth run a measured proposal is filed. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { cronScheduler, hillclimbJob } from '../../src/hillclimb/job.js';
import { Cron } from 'croner';
import { openProposals } from '../../src/hillclimb/port.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo | undefined;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.shutdown();
  await repo?.cleanup();
  supervisor = undefined;
  repo = undefined;
});

describe('the hill-climb job', () => {
  it('proposes after every 2nd run of a loop that asks for it, and not before', async () => {
    repo = await makeRepo();
    const file = join(repo.dir, 'loops/tidy-comments/LOOP.md');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('budget: {', 'hillclimb: { every: 2 }\nbudget: {'));
    await repo.git('commit', '-qam', 'hill-climb every 2 runs');
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const events: LoopEvent[] = [];
    supervisor.subscribe((e) => {
      if (e.source === 'hillclimb') events.push(e);
    });
    const job = hillclimbJob();
    await supervisor.addJob(job);

    expect((await supervisor.start('tidy-comments')).outcome).toBe('budget');
    await job.settled();
    expect(events).toEqual([]);
    expect((await supervisor.start('fix-tests')).outcome).toBe('verified');
    expect((await supervisor.start('tidy-comments')).outcome).toBe('budget');
    await vi.waitFor(
      () => {
        const statuses = events.map((e) => (e.type === 'proposal.changed' ? e.status : e.type));
        expect(statuses).toEqual(['analysing', 'evaluating', 'pending']);
      },
      { timeout: 60_000, interval: 100 },
    );
    expect(events.every((e) => e.loop === 'tidy-comments' && e.run === 'hillclimb')).toBe(true);
    const views = await openProposals(repo.dir).list();
    expect(views.map((v) => [v.loop, v.status])).toEqual([['tidy-comments', 'pending']]);
  }, 120_000);

  it('proposes on a loop’s hillclimb.cron schedule, follows edits to it, and stops its schedules on shutdown', async () => {
    repo = await makeRepo();
    const file = join(repo.dir, 'loops/tidy-comments/LOOP.md');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('budget: {', 'hillclimb: { cron: "0 3 * * 1" }\nbudget: {'));
    await repo.git('commit', '-qam', 'hill-climb on Mondays');
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const events: LoopEvent[] = [];
    supervisor.subscribe((e) => {
      if (e.source === 'hillclimb') events.push(e);
    });
    // A scheduler the test fires by hand: croner's own timing is croner's; the wiring is ours.
    const scheduled: Array<{ expression: string; fire: () => void; stopped: boolean }> = [];
    const job = hillclimbJob({
      schedule: (expression, fire) => {
        const entry = { expression, fire, stopped: false };
        scheduled.push(entry);
        return { stop: () => (entry.stopped = true) };
      },
    });
    await supervisor.addJob(job);
    expect(scheduled.map((e) => e.expression)).toEqual(['0 3 * * 1']);

    // Nothing failed yet: the step says there is nothing to improve, as a proposal.failed.
    scheduled[0]?.fire();
    await vi.waitFor(() => expect(events.map((e) => e.type)).toContain('proposal.failed'));
    expect(events.every((e) => e.loop === 'tidy-comments')).toBe(true);

    // An edit to the schedule replaces it; a loop without one gets none.
    await writeFile(file, text.replace('budget: {', 'hillclimb: { cron: "30 4 * * *" }\nbudget: {'));
    await supervisor.reload();
    expect(scheduled.map((e) => [e.expression, e.stopped])).toEqual([
      ['0 3 * * 1', true],
      ['30 4 * * *', false],
    ]);
    await supervisor.shutdown();
    supervisor = undefined;
    expect(scheduled.every((e) => e.stopped)).toBe(true);
  }, 120_000);

  it('schedules with croner by default: the next Monday at 03:00, and nothing after stop', () => {
    let fired = 0;
    const scheduled = cronScheduler('0 3 * * 1', () => (fired += 1));
    expect(scheduled).toBeInstanceOf(Cron);
    const next = (scheduled as Cron).nextRun();
    expect(next?.getDay()).toBe(1);
    expect(next?.getHours()).toBe(3);
    scheduled.stop();
    expect((scheduled as Cron).nextRun()).toBeNull();
    expect(fired).toBe(0);
  });
});
