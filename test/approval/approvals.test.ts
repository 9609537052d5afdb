import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

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

/** A loop whose agent runs one command that needs approval, then reports what the tool said. */
async function addGuarded(timeoutSeconds = 600): Promise<void> {
  await repo.addLoop(
    'guarded',
    `---
name: guarded
agent: { provider: scripted }
verify:
  - command: test -f approved.txt
approve: ["run:touch *"]
approval: { timeout: ${timeoutSeconds} }
budget: { iterations: 1 }
---
Make approved.txt.
`,
    `turns:
  - when: { step: work, contains: "iteration 1 of" }
    text: Making the file.
    tool_calls:
      - { name: run, input: { command: 'cd . && env A=1 bash -c "touch approved.txt"' } }
  - when: { step: work, contains: "not today" }
    text: The person said not today, so I stop here.
  - when: { step: work, contains: "headless" }
    text: Nobody could approve it.
  - when: { step: work, contains: "nobody approved" }
    text: The approval timed out.
  - when: { step: work }
    text: Done.
`,
  );
}

function collect(s: Supervisor): LoopEvent[] {
  const seen: LoopEvent[] = [];
  s.subscribe((e) => seen.push(e));
  return seen;
}

/** Resolves with the first approval.requested event, after `answer` was called on it. */
function onRequest(s: Supervisor, answer: (e: LoopEvent & { type: 'approval.requested' }) => void): void {
  const off = s.subscribe((e) => {
    if (e.type !== 'approval.requested') return;
    off();
    answer(e);
  });
}

describe('approvals', () => {
  it('asks a person, who approves: the call runs and the run is verified; a stale id is refused', async () => {
    await addGuarded();
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const s = supervisor;
    const seen = collect(s);
    let stale: ReturnType<Supervisor['send']> | undefined;
    let snapshot: ReturnType<Supervisor['snapshot']> | undefined;
    onRequest(s, (e) => {
      snapshot = s.snapshot();
      stale = s.send({ type: 'approve', loop: 'guarded', approvalId: `${e.approvalId}-old` });
      expect(s.send({ type: 'approve', loop: 'guarded', approvalId: e.approvalId })).toMatchObject({
        ok: true,
        status: 'done',
      });
    });
    const result = await s.start('guarded');
    expect(result.outcome).toBe('verified');
    expect(await readFile(join(repo.dir, 'state/guarded/MEMORY.md'), 'utf8')).toContain(
      'a person approved run `touch approved.txt`',
    );
    expect(stale).toMatchObject({ ok: false, status: 'refused' });
    const requested = seen.find((e) => e.type === 'approval.requested');
    expect(requested).toMatchObject({
      tool: 'run',
      rule: 'run:touch *',
      matched: 'touch approved.txt',
      timeoutMs: 600_000,
    });
    expect(snapshot?.approvals).toEqual([
      expect.objectContaining({
        loop: 'guarded',
        run: result.run,
        rule: 'run:touch *',
        matched: 'touch approved.txt',
      }),
    ]);
    expect(snapshot?.runs[0]?.status).toBe('waiting');
    expect(snapshot?.needs).toEqual([
      {
        loop: 'guarded',
        run: result.run,
        reason: 'approval',
        detail: 'touch approved.txt (rule run:touch *)',
      },
    ]);
    expect(s.snapshot().approvals).toEqual([]);
    expect(seen.find((e) => e.type === 'approval.resolved')).toMatchObject({ approved: true, by: 'person' });
    // The answer, refused or done, is a supervisor event too, for screens attached elsewhere.
    const replies = seen.filter((e) => e.type === 'command.replied');
    expect(replies.map((e) => e.type === 'command.replied' && [e.command, e.status])).toEqual([
      ['approve', 'refused'],
      ['approve', 'done'],
    ]);
    expect(replies[0]).toMatchObject({ source: 'supervisor', run: 'supervisor' });
    // Answering again after it was resolved changes nothing.
    const id = requested?.type === 'approval.requested' ? requested.approvalId : '';
    expect(s.send({ type: 'approve', loop: 'guarded', approvalId: id })).toMatchObject({ ok: false });
  });

  it("denies with the person's reason, which reaches the model as the tool's error", async () => {
    await addGuarded();
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const s = supervisor;
    const seen = collect(s);
    onRequest(s, (e) =>
      s.send({ type: 'deny', loop: 'guarded', approvalId: e.approvalId, reason: 'not today' }),
    );
    const result = await s.start('guarded');
    expect(result.outcome).toBe('budget');
    const toolResult = seen.find((e) => e.type === 'tool.result');
    expect(toolResult).toMatchObject({ ok: false, output: 'denied by a person: not today' });
    const texts = seen.flatMap((e) => (e.type === 'model.response' && e.step === 'work' ? [e.text] : []));
    expect(texts).toContain('The person said not today, so I stop here.');
    expect(seen.find((e) => e.type === 'approval.resolved')).toMatchObject({ approved: false, by: 'person' });
    expect(await repo.git('show', `${result.branch}:src/cart.js`)).toBeTruthy();
    await expect(repo.git('show', `${result.branch}:approved.txt`)).rejects.toThrow();
    // A person's answer is a human correction the next run starts from.
    const memory = await readFile(join(repo.dir, 'state/guarded/MEMORY.md'), 'utf8');
    expect(memory).toContain('a person denied run `touch approved.txt`: not today');
  });

  it('denies at once, without waiting, when nobody can answer (headless), and the run goes on', async () => {
    await addGuarded();
    supervisor = await Supervisor.open(repo.dir);
    const seen = collect(supervisor);
    const result = await supervisor.start('guarded');
    expect(result.outcome).toBe('budget');
    expect(seen.find((e) => e.type === 'approval.requested')).toMatchObject({ timeoutMs: 0 });
    expect(seen.find((e) => e.type === 'approval.resolved')).toMatchObject({
      approved: false,
      by: 'headless',
    });
    const texts = seen.flatMap((e) => (e.type === 'model.response' && e.step === 'work' ? [e.text] : []));
    expect(texts).toContain('Nobody could approve it.');
    // Nobody answered: no human correction is made up.
    const memory = await readFile(join(repo.dir, 'state/guarded/MEMORY.md'), 'utf8');
    expect(memory).not.toContain('a person');
  });

  it('denies after the timeout the loop set when nobody answers', async () => {
    await addGuarded(0.05);
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const seen = collect(supervisor);
    const result = await supervisor.start('guarded');
    expect(result.outcome).toBe('budget');
    expect(seen.find((e) => e.type === 'approval.resolved')).toMatchObject({
      approved: false,
      by: 'timeout',
    });
    const texts = seen.flatMap((e) => (e.type === 'model.response' && e.step === 'work' ? [e.text] : []));
    expect(texts).toContain('The approval timed out.');
  });

  it('lets a stop win over the wait', async () => {
    await addGuarded();
    supervisor = await Supervisor.open(repo.dir, { attended: true });
    const s = supervisor;
    const seen = collect(s);
    onRequest(s, () => s.send({ type: 'stop', loop: 'guarded' }));
    const result = await s.start('guarded');
    expect(result.outcome).toBe('stopped');
    expect(seen.find((e) => e.type === 'approval.resolved')).toMatchObject({ approved: false, by: 'stop' });
    expect(s.snapshot().approvals).toEqual([]);
  });
});
