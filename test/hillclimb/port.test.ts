/**
 * The ProposalsPort as the screen uses it: improve starts in the background and reports through
 * events (one analysis per loop at a time, a proposal.failed saying why when nothing came of it);
 * the hillclimb: settings validate with errors naming the field.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import { loadLoop } from '../../src/core/definition/load.js';
import type { LoopEventBody } from '../../src/core/events.js';
import { openProposals } from '../../src/hillclimb/port.js';
import { openScreenProposals } from '../../src/commands/supervise.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

describe('openProposals', () => {
  it('improves in the background, one analysis per loop, and says why when there is nothing to do', async () => {
    repo = await makeRepo();
    const events: Array<{ loop: string; body: LoopEventBody }> = [];
    const port = openProposals(repo.dir, { env: {}, emit: (loop, body) => events.push({ loop, body }) });
    expect(await port.improve('tidy-comments')).toMatchObject({ ok: true });
    expect(await port.improve('tidy-comments')).toMatchObject({ ok: false });
    await port.settled();
    expect(events).toEqual([
      {
        loop: 'tidy-comments',
        body: {
          type: 'proposal.failed',
          id: '',
          reason: "no failures in tidy-comments's recent runs: nothing to improve",
        },
      },
    ]);

    const supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    try {
      expect((await supervisor.start('tidy-comments')).outcome).toBe('budget');
    } finally {
      await supervisor.shutdown();
    }
    events.length = 0;
    expect(await port.improve('tidy-comments')).toMatchObject({ ok: true });
    await port.settled();
    const statuses = events.map(({ body }) => (body.type === 'proposal.changed' ? body.status : body.type));
    expect(statuses).toEqual(['analysing', 'evaluating', 'pending']);
    const [view] = await port.list('tidy-comments');
    expect(view?.status).toBe('pending');
    expect(view?.evaluation.map((a) => a.arm)).toEqual(['without', 'with']);
    expect(await port.list('fix-tests')).toEqual([]);
  });
});

describe("the screen's proposals port", () => {
  it('evaluates in the sandbox the screen was given: the demo runs unconfined where bubblewrap is missing', async () => {
    repo = await makeRepo();
    const supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    try {
      expect((await supervisor.start('tidy-comments')).outcome).toBe('budget');
    } finally {
      await supervisor.shutdown();
    }
    const missing = '/nonexistent/bwrap';
    const outcome = async (sandbox: { bwrapPath: string; fallback?: 'unconfined' }): Promise<string> => {
      const events: LoopEventBody[] = [];
      const port = await openScreenProposals(
        repo?.dir ?? '',
        { sandbox },
        {
          env: {},
          emit: (_loop, body) => events.push(body),
        },
      );
      expect(await port.improve('tidy-comments')).toMatchObject({ ok: true });
      await port.settled();
      const last = events.at(-1);
      return last?.type === 'proposal.changed'
        ? last.status
        : last?.type === 'proposal.failed'
          ? last.reason
          : '';
    };
    // Without bubblewrap the demo's evaluation falls back to running unconfined and measures the gain;
    // a real loop's re-runs refuse to start unconfined, so nothing verifies and nothing is shown.
    expect(await outcome({ bwrapPath: missing, fallback: 'unconfined' })).toBe('pending');
    expect(await outcome({ bwrapPath: missing })).toBe('regressed');
    // Filed as not measured, not as a change that measured no gain.
    const filed = await openProposals(repo.dir).list('tidy-comments', { all: true });
    const unmeasured = filed.find((p) => p.status === 'regressed');
    expect(unmeasured?.reason).toMatch(
      /^the evaluation could not run: not measured: 2 of 2 re-runs could not start \(/,
    );
    expect(unmeasured?.reason).toContain('bubblewrap');
  });
});

describe('hillclimb: in LOOP.md', () => {
  it('validates its fields and refuses unknown ones, naming them', async () => {
    repo = await makeRepo();
    const write = async (front: string): Promise<void> => {
      await mkdir(join(repo?.dir ?? '', 'loops/hc'), { recursive: true });
      await writeFile(
        join(repo?.dir ?? '', 'loops/hc/LOOP.md'),
        `---\nname: hc\nagent: { provider: scripted }\nverify: [{ command: "true" }]\n${front}\n---\nTask.\n`,
      );
      await writeFile(join(repo?.dir ?? '', 'loops/hc/SCRIPT.yaml'), 'turns:\n  - text: hi\n');
    };
    await write('hillclimb: { every: 3, usd_per_proposal: 0.2, tasks: 2, runs_per_task: 2 }');
    const ok = await loadLoop(repo.dir, 'hc');
    expect(ok.ok && ok.definition.hillclimb).toEqual({
      every: 3,
      usd_per_proposal: 0.2,
      tasks: 2,
      runs_per_task: 2,
    });
    for (const [front, field] of [
      ['hillclimb: { evry: 3 }', 'hillclimb.evry'],
      ['hillclimb: { usd_per_proposal: -1 }', 'hillclimb.usd_per_proposal'],
      ['hillclimb: { every: 0 }', 'hillclimb.every'],
      ['hillclimb: { cron: "not a cron" }', 'hillclimb.cron'],
    ] as const) {
      await write(front);
      const bad = await loadLoop(repo.dir, 'hc');
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.problems.map((p) => p.field)).toContain(field);
    }
  });

  it('says that tasks does nothing beside an eval set', async () => {
    repo = await makeRepo();
    await repo.addLoop(
      'hc',
      '---\nname: hc\nagent: { provider: scripted }\nverify: [{ command: "true" }]\nhillclimb:\n  tasks: 2\n  eval: EVAL.txt\n---\nTask.\n',
      'turns:\n  - text: hi\n',
    );
    await writeFile(join(repo.dir, 'loops/hc/EVAL.txt'), '# no runs yet\n');
    const loaded = await loadLoop(repo.dir, 'hc');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const tasks = loaded.warnings.find((w) => w.field === 'hillclimb.tasks');
    expect(tasks?.line).toBe(6);
    expect(tasks?.message).toContain('it does nothing');
    // Without the eval set, tasks is what picks the evaluation's tasks: no warning.
    await repo.addLoop(
      'hc',
      '---\nname: hc\nagent: { provider: scripted }\nverify: [{ command: "true" }]\nhillclimb:\n  tasks: 2\n---\nTask.\n',
    );
    const plain = await loadLoop(repo.dir, 'hc');
    expect(plain.ok && plain.warnings.filter((w) => w.field === 'hillclimb.tasks')).toEqual([]);
  });
});
