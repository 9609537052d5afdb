import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent, StallAction } from '../../src/core/events.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

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

/** An agent that runs the same command every iteration against a grader that always fails. */
async function addStuck(action: StallAction, iterations = 6, stallExtra = ''): Promise<void> {
  await repo.addLoop(
    'stuck',
    `---
name: stuck
agent: { provider: scripted }
verify:
  - command: node -e "console.log('1 passing'); console.log('1 failing'); process.exit(1)"
    name: tests
budget: { iterations: ${iterations} }
stall: { window: 2, on_stall: ${action}${stallExtra} }
---
Make the tests pass.
`,
    `turns:
  - when: { step: work, contains: "You are stalled" }
    text: Told I am stalled; trying something else.
    tool_calls:
      - { name: write_file, input: { path: new-idea.txt, content: "a different approach\\n" } }
  - when: { step: work, matches: "iteration \\\\d+ of" }
    text: Running the same command again.
    repeat: true
    tool_calls:
      - { name: run, input: { command: "ls" } }
`,
  );
}

function collect(s: Supervisor): LoopEvent[] {
  const seen: LoopEvent[] = [];
  s.subscribe((e) => seen.push(e));
  return seen;
}

describe('stall detection in a real run', () => {
  it('on_stall: stop ends the run stalled once the window has held, naming the signals', async () => {
    await addStuck('stop');
    supervisor = await Supervisor.open(repo.dir);
    const seen = collect(supervisor);
    const result = await supervisor.start('stuck');
    expect(result.outcome).toBe('stalled');
    expect(result.iterations).toBe(3);
    expect(result.reason).toContain('no progress in 2 iteration(s)');
    expect(result.reason).toContain('the same tool calls as before');
    const signals = seen.filter((e) => e.type === 'stall.signals');
    expect(signals.map((e) => e.type === 'stall.signals' && [e.progress, e.quiet])).toEqual([
      [true, 0],
      [false, 1],
      [false, 2],
    ]);
    expect(seen.filter((e) => e.type === 'stall.detected')).toHaveLength(1);
    // Once it has ended stalled, the loop needs a person, and the snapshot says why.
    expect(supervisor.snapshot().needs).toEqual([
      expect.objectContaining({ loop: 'stuck', reason: 'stalled', detail: result.reason }),
    ]);
    // The diff identity comes from git: each iteration says which tree it committed.
    const committed = seen.filter((e) => e.type === 'iteration.committed');
    expect(committed).toHaveLength(3);
    expect(new Set(committed.map((e) => e.type === 'iteration.committed' && e.tree)).size).toBe(1);
  });

  it('on_stall: nudge tells the next iteration which signals stalled, and the run goes on', async () => {
    await addStuck('nudge', 5);
    supervisor = await Supervisor.open(repo.dir);
    const seen = collect(supervisor);
    const result = await supervisor.start('stuck');
    expect(result.outcome).toBe('budget');
    const detected = seen.find((e) => e.type === 'stall.detected');
    expect(detected).toMatchObject({ iteration: 3, action: 'nudge' });
    const nudged = seen.find(
      (e) => e.type === 'model.response' && e.text === 'Told I am stalled; trying something else.',
    );
    expect(nudged?.iteration).toBe(4);
    // Its new diff is progress: the stall is cleared, once.
    expect(seen.filter((e) => e.type === 'stall.cleared')).toEqual([
      expect.objectContaining({ iteration: 4, reason: 'progress: a new diff' }),
    ]);
  });

  it('on_stall: pause with nobody to resume it ends a headless run stalled', async () => {
    await addStuck('pause');
    supervisor = await Supervisor.open(repo.dir);
    const result = await supervisor.start('stuck');
    expect(result.outcome).toBe('stalled');
    expect(result.reason).toContain('on_stall is pause and nobody can resume it here');
  });

  it('on_stall: pause waits for a person when one is attached; resuming clears the stall', async () => {
    await addStuck('pause', 4);
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const s = supervisor;
    const seen = collect(s);
    let whilePaused: ReturnType<Supervisor['snapshot']> | undefined;
    const off = s.subscribe((e) => {
      if (e.type !== 'run.paused') return;
      off();
      whilePaused = s.snapshot();
      s.send({ type: 'resume', loop: 'stuck' });
    });
    const result = await s.start('stuck');
    expect(result.outcome).toBe('budget');
    expect(whilePaused?.runs[0]).toMatchObject({ status: 'paused', stalled: { action: 'pause' } });
    // A paused run is not counted as running, though it keeps its place in the limit.
    expect(whilePaused).toMatchObject({ running: 0, inFlight: 1 });
    expect(whilePaused?.needs).toEqual([expect.objectContaining({ loop: 'stuck', reason: 'stalled' })]);
    expect(seen.find((e) => e.type === 'stall.cleared')).toMatchObject({
      reason: 'a person resumed the run',
    });
    expect(seen.filter((e) => e.type === 'stall.detected')).toHaveLength(1);
  });

  it("on_stall: pause with nobody resuming it ends the run stalled once the pause's timeout has passed", async () => {
    // 30 ms: the wait is for the timer, not a timed assertion (the events say what happened).
    await addStuck('pause', 6, ', pause_timeout_minutes: 0.0005');
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const seen = collect(supervisor);
    const result = await supervisor.start('stuck');
    expect(result).toMatchObject({ outcome: 'stalled', iterations: 3 });
    expect(result.reason).toMatch(
      /^no progress in 2 iteration\(s\).*; paused, and nobody resumed it within 0\.03 s$/,
    );
    expect(seen.filter((e) => e.type === 'run.paused')).toHaveLength(1);
    expect(seen.find((e) => e.type === 'run.resumed' || e.type === 'stall.cleared')).toBeUndefined();
    expect(supervisor.snapshot().needs).toEqual([
      expect.objectContaining({ loop: 'stuck', reason: 'stalled', detail: result.reason }),
    ]);
  });

  it("a person's resume before the pause's timeout lets the run go on", async () => {
    await addStuck('pause', 4, ', pause_timeout_minutes: 30');
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const s = supervisor;
    const seen = collect(s);
    const off = s.subscribe((e) => {
      if (e.type !== 'run.paused') return;
      off();
      s.send({ type: 'resume', loop: 'stuck' });
    });
    const result = await s.start('stuck');
    expect(result.outcome).toBe('budget');
    expect(result.iterations).toBe(4);
    expect(seen.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
  });

  it('loops run exits 4 when the run ends stalled', async () => {
    await addStuck('stop');
    const scratch = await mkdtemp(join(tmpdir(), 'loops-stall-cli-'));
    try {
      const r = await runCli(['run', 'stuck', '--json'], { scratch, cwd: repo.dir });
      expect(r.exitCode).toBe(4);
      expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'stalled' });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
