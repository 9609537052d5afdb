/**
 * The triggers with a real supervisor, real git and the scripted model: a goal that needs three runs,
 * a cron catch-up and watched changes whose runs record their base commit and context (replayable),
 * and the overlap rules (queue one, drop) recorded as trigger.fired.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { StateIndex, type RunRecord } from '../../src/state/index-db.js';
import { CronJob, GoalJob, WatchJob, replayContext } from '../../src/triggers/index.js';
import { triggerFile } from '../../src/triggers/trigger-state.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;
const poll = { timeout: 90_000, interval: 50 };

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await repo.cleanup();
});

function record(s: Supervisor): LoopEvent[] {
  const seen: LoopEvent[] = [];
  s.subscribe((e) => seen.push(e));
  return seen;
}

async function indexRuns(loop: string): Promise<RunRecord[]> {
  const index = await StateIndex.open(join(repo.dir, 'state', 'loops.json'));
  return index.runs(loop);
}

describe('triggers with a supervisor', () => {
  it('a goal loop that needs three runs restarts from its memory until verified', async () => {
    // The work is only right on the goal's third run: the agent sees which run it is in its context.
    await repo.addLoop(
      'goal-three',
      `---
name: goal-three
agent: { provider: scripted }
verify:
  - command: "test -f done.txt"
budget: { iterations: 1 }
trigger: { goal: { runs: 5, backoff: 0 } }
---
Make done.txt.
`,
      `turns:
  - when: { contains: "This is run 3 of a goal" }
    tool_calls:
      - { name: write_file, input: { path: done.txt, content: "done\\n" } }
`,
    );
    supervisor = await Supervisor.open(repo.dir, {});
    const s = supervisor;
    const seen = record(s);
    const goal = new GoalJob();
    await s.addJob(goal);
    expect(s.send({ type: 'start', loop: 'goal-three' })).toMatchObject({ status: 'started' });
    await vi.waitFor(() => expect(goal.info('goal-three').goal?.state).toBe('met'), poll);
    expect(goal.info('goal-three').goal).toMatchObject({ state: 'met', runs: 3, maxRuns: 5 });
    expect(s.loops().find((l) => l.name === 'goal-three')?.goal).toMatchObject({ state: 'met', runs: 3 });

    const ended = seen.flatMap((e) => (e.type === 'run.ended' ? [e.outcome] : []));
    expect(ended).toEqual(['budget', 'budget', 'verified']);
    const fired = seen.flatMap((e) => (e.type === 'trigger.fired' ? [[e.trigger, e.status]] : []));
    // The restart is sent as the run ends, while it still holds its place: it may wait in the queue.
    expect(fired).toEqual([
      ['goal', expect.stringMatching(/^(started|queued)$/)],
      ['goal', expect.stringMatching(/^(started|queued)$/)],
    ]);
    const progress = seen.flatMap((e) => (e.type === 'goal.progress' ? [e.progress.state] : []));
    expect(progress.at(-1)).toBe('met');
    const started = seen.flatMap((e) => (e.type === 'run.started' ? [e] : []));
    const first = started[0]?.run;
    expect(started.map((e) => e.context?.goal)).toEqual([
      undefined,
      { attempt: 2, first },
      { attempt: 3, first },
    ]);
    await goal.settled();
    // The daemon's next start reads the same progress.
    const again = new GoalJob();
    await again.start(minimalContext(s));
    expect(again.info('goal-three').goal).toMatchObject({ state: 'met', runs: 3 });
    again.stop();
  }, 180_000);

  it('a cron catch-up run records its base commit and context, and the agent is told why it started', async () => {
    await repo.addLoop(
      'nightly',
      `---
name: nightly
agent: { provider: scripted }
verify:
  - command: "test -f why.txt"
budget: { iterations: 1 }
trigger: { cron: "0 3 1 1 *", timezone: UTC, catch_up: true }
---
Say why.
`,
      `turns:
  - when: { contains: "# Why this run started" }
    tool_calls:
      - { name: write_file, input: { path: why.txt, content: "cron\\n" } }
`,
    );
    const file = triggerFile(
      { loopDir: (n: string) => join(repo.dir, 'state', n) } as never,
      'nightly',
      'cron',
    );
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ expression: '0 3 1 1 *', seenAt: '2020-06-01T00:00:00.000Z' }));
    supervisor = await Supervisor.open(repo.dir, {});
    const s = supervisor;
    const seen = record(s);
    const cron = new CronJob();
    await s.addJob(cron);
    await vi.waitFor(() => expect(seen.some((e) => e.type === 'run.ended')).toBe(true), poll);
    expect(seen.find((e) => e.type === 'run.ended')).toMatchObject({ outcome: 'verified' });
    const startedEvent = seen.find((e) => e.type === 'run.started');
    expect(startedEvent).toMatchObject({ trigger: 'cron', context: { kind: 'cron' } });
    expect(s.loops().find((l) => l.name === 'nightly')?.nextDue).toMatch(/^\d{4}-01-01T03:00:00.000Z$/);

    const runs = await indexRuns('nightly');
    expect(runs).toHaveLength(1);
    const run = runs[0];
    const head = (await repo.git('rev-parse', 'HEAD')).trim();
    expect(run).toMatchObject({ baseSha: head, context: { kind: 'cron' } });
    expect(run?.context?.detail).toContain('catching up');
    const replay = replayContext(run!);
    expect(replay).toMatchObject({
      ok: true,
      replay: { baseSha: head, original: { kind: 'cron' }, context: { kind: 'replay', replayOf: run?.run } },
    });

    // loops list shows the next due time.
    await s.shutdown();
    supervisor = undefined;
    const scratch = await mkdtemp(join(tmpdir(), 'loops-list-'));
    const listed = await runCli(['list'], { cwd: repo.dir, scratch });
    await rm(scratch, { recursive: true, force: true });
    expect(listed.stdout).toMatch(
      /nightly\s+scripted\/scripted\s+cron 0 3 1 1 \* \(next \d{4}-01-01 03:00 UTC\)/,
    );
  }, 180_000);

  it('watched changes start a run with the files in its record; overlap queues one and drops the rest', async () => {
    const holding = (name: string, glob: string, overlap: string): string => `---
name: ${name}
agent: { provider: scripted }
verify:
  - command: "true"
approve: ["run:*"]
budget: { iterations: 1 }
trigger: { watch: ["${glob}"], debounce: 0.3, overlap: ${overlap} }
---
Hold.
`;
    const script = `turns:
  - when: { contains: "iteration 1 of" }
    tool_calls:
      - { name: run, input: { command: ls } }
`;
    await repo.addLoop('queuer', holding('queuer', 'watched-q/**', 'queue'), script);
    await repo.addLoop('dropper', holding('dropper', 'watched-d/**', 'drop'), script);
    supervisor = await Supervisor.open(repo.dir, { attended: true, maxConcurrent: 4 });
    const s = supervisor;
    const seen = record(s);
    const watch = new WatchJob();
    await s.addJob(watch);
    const change = (rel: string): void => {
      mkdirSync(dirname(join(repo.dir, rel)), { recursive: true });
      writeFileSync(join(repo.dir, rel), `${Math.random()}\n`);
    };
    const fired = (loop: string): string[] =>
      seen.flatMap((e) => (e.type === 'trigger.fired' && e.loop === loop ? [e.status] : []));
    const approvals = (loop: string): Array<Extract<LoopEvent, { type: 'approval.requested' }>> =>
      seen.flatMap((e) => (e.type === 'approval.requested' && e.loop === loop ? [e] : []));

    change('watched-q/a.txt');
    change('watched-d/a.txt');
    await vi.waitFor(() => expect(approvals('queuer').length + approvals('dropper').length).toBe(2), poll);
    // Both runs wait for a person: a change now finds each loop's run in flight.
    change('watched-q/b.txt');
    await vi.waitFor(() => expect(fired('queuer')).toEqual(['started', 'queued']), poll);
    change('watched-q/c.txt');
    await vi.waitFor(() => expect(fired('queuer')).toEqual(['started', 'queued', 'skipped']), poll);
    change('watched-d/b.txt');
    await vi.waitFor(() => expect(fired('dropper')).toEqual(['started', 'skipped']), poll);
    const dropped = seen.find(
      (e) => e.type === 'trigger.fired' && e.loop === 'dropper' && e.status === 'skipped',
    );
    expect(dropped).toMatchObject({ source: 'trigger' });
    expect(dropped?.type === 'trigger.fired' ? dropped.reason : '').toContain('overlap: drop');
    expect(s.snapshot().queue).toEqual([expect.objectContaining({ loop: 'queuer' })]);

    // The first run ends; the queued start runs next, with the files of the change that queued it.
    const first = approvals('queuer')[0]!;
    s.send({ type: 'deny', loop: 'queuer', approvalId: first.approvalId, reason: 'test' });
    await vi.waitFor(() => expect(approvals('queuer')).toHaveLength(2), poll);
    const starts = seen.flatMap((e) => (e.type === 'run.started' && e.loop === 'queuer' ? [e] : []));
    expect(starts.map((e) => e.context?.files)).toEqual([['watched-q/a.txt'], ['watched-q/b.txt']]);
    // The agent's own runs changed nothing in the checkout: no run was started by loops' own work.
    await watch.settled();
    expect(fired('queuer')).toEqual(['started', 'queued', 'skipped']);

    const runs = await indexRuns('queuer');
    expect(runs[0]).toMatchObject({
      baseSha: (await repo.git('rev-parse', 'HEAD')).trim(),
      context: { kind: 'watch', files: ['watched-q/a.txt'] },
    });
  }, 180_000);
});

function minimalContext(s: Supervisor): Parameters<GoalJob['start']>[0] {
  return {
    repoRoot: s.repoRoot,
    paths: s.paths,
    env: {},
    port: s,
    send: (c) => s.send(c),
    subscribe: (l) => s.subscribe(l),
    definitions: () => s.validDefinitions(),
    emit: () => undefined,
    drainQueue: () => undefined,
    signal: new AbortController().signal,
    reportError: (e) => {
      throw e;
    },
  };
}
