/** `hillclimb: { every: N }` under a real supervisor: after the Nth run a measured proposal is filed. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { hillclimbJob } from '../../src/hillclimb/job.js';
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
});
