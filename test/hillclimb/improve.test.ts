/**
 * Hill-climbing end to end with the scripted model on real repositories: a real run's trace becomes
 * signatures, the scripted analyst proposes a real diff, the evaluation really re-runs the task with
 * and without it, and accepting commits it. Also: a proposal that hurts is filed regressed and never
 * listed as pending; a rejected one is never proposed again; one whose file changed is superseded.
 */
import type { CallGate, GatedCall } from '../../src/core/budget/call-gate.js';
import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { review } from '../../src/commands/review.js';
import { renderSpend } from '../../src/commands/spend.js';
import { summariseRollups } from '../../src/core/budget/ledger.js';
import { SpendLedger } from '../../src/state/spend-ledger.js';
import { Supervisor } from '../../src/core/supervisor.js';
import { improve } from '../../src/hillclimb/improve.js';
import { openProposals } from '../../src/hillclimb/port.js';
import { StateIndex } from '../../src/state/index-db.js';
import { statePaths } from '../../src/state/paths.js';
import type { LoopEventBody } from '../../src/core/events.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

/** The reason of a refusal; a success fails the test. */
function reasonOf(answer: { ok: true } | { ok: false; reason: string }): string {
  if (answer.ok) throw new Error('expected a refusal');
  return answer.reason;
}

/** What `loops review --list [--all]` prints, in this process. */
async function reviewList(dir: string, all: boolean): Promise<string> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    const code = await review([], {
      repo: dir,
      headless: true,
      json: false,
      provider: undefined,
      list: true,
      all,
    });
    expect(code).toBe(0);
  } finally {
    write.mockRestore();
  }
  return chunks.join('');
}

async function runLoop(dir: string, loop: string): Promise<string> {
  return (await startOnce(dir, loop)).outcome;
}

/** The id of one run of the loop, which ends at its budget. */
async function runOnce(dir: string, loop: string): Promise<string> {
  const result = await startOnce(dir, loop);
  expect(result.outcome).toBe('budget');
  return result.run;
}

async function startOnce(dir: string, loop: string): Promise<{ outcome: string; run: string }> {
  const supervisor = await Supervisor.open(dir, { env: {}, maxRetries: 0 });
  try {
    return await supervisor.start(loop);
  } finally {
    await supervisor.shutdown();
  }
}

describe('loops improve on the demo loop tidy-comments', () => {
  it('proposes the missing sentence, measures the gain, and accepting commits it alone', async () => {
    repo = await makeRepo();
    const dir = repo.dir;
    expect(await runLoop(dir, 'tidy-comments')).toBe('budget');
    const paths = statePaths(dir);
    const memoryBefore = await readFile(paths.memory('tidy-comments'), 'utf8');

    const events: LoopEventBody[] = [];
    const result = await improve({
      repoRoot: dir,
      loop: 'tidy-comments',
      env: {},
      emit: (e) => events.push(e),
    });
    if (!result.ok) throw new Error(result.reason);
    const p = result.proposal;
    expect(p.status).toBe('pending');
    expect(p.file).toBe('loops/tidy-comments/SKILL.md');
    expect(p.signatures.map((s) => s.kind)).toEqual(expect.arrayContaining(['test', 'budget']));
    const [without, withIt] = p.evaluation;
    expect(without).toMatchObject({ arm: 'without', runs: 1, verified: 0 });
    expect(withIt).toMatchObject({ arm: 'with', runs: 1, verified: 1 });
    expect(p.effect).toBe('verified 0/1 → 1/1, no task lost');
    expect(events.map((e) => (e.type === 'proposal.changed' ? e.status : e.type))).toEqual([
      'analysing',
      'evaluating',
      'pending',
    ]);

    // The loop's own state is untouched by the evaluation: no new run, same memory, no eval branch.
    const index = await StateIndex.open(paths.index);
    expect(index.runs('tidy-comments')).toHaveLength(1);
    expect(await readFile(paths.memory('tidy-comments'), 'utf8')).toBe(memoryBefore);
    expect(await repo.git('branch', '--list', 'loops/tidy-comments/eval-*')).toBe('');
    // The analyst's and the evaluation's calls are in the ledger under pseudo-runs of their own.
    const spend = await readdir(paths.spendDir('tidy-comments'));
    const steps = async (run: string): Promise<string[]> =>
      (await readFile(join(paths.spendDir('tidy-comments'), `${run}.jsonl`), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { step: string }).step);
    expect(spend).toContain(`improve-${p.id}.jsonl`);
    expect(new Set(await steps(`improve-${p.id}`))).toEqual(new Set(['analyst']));
    expect(await steps(`improve-${p.id}-eval`)).toContain('work');
    // And `loops spend` counts the one real run, showing hill-climbing on a line of its own.
    const report = summariseRollups(
      await SpendLedger.open(paths, { writable: false }).allRollups('tidy-comments'),
      index.outcomes('tidy-comments'),
    );
    expect(report.loops[0]).toMatchObject({ loop: 'tidy-comments', runs: 1, verifiedRuns: 0 });
    expect(report.hillclimb?.analyst.calls).toBeGreaterThan(0);
    expect(report.hillclimb?.evaluation.calls).toBeGreaterThan(0);
    expect(renderSpend(report)).toMatch(/hill-climb.*\n.*analyst.*\n.*evaluation/);

    // The page a person reads.
    const page = await readFile(join(paths.loopDir('tidy-comments'), 'proposals', `${p.id}.md`), 'utf8');
    expect(page).toContain('| with | 1 | 1 | 1 | 100% |');
    expect(page).toContain('+3. Every comment that starts with "Bug:" is stale');

    // Other work in progress, staged and unstaged, survives the accept untouched.
    await appendFile(join(dir, 'README.md'), '\nwork in progress\n');
    await writeFile(join(dir, 'notes.txt'), 'staged\n');
    await repo.git('add', 'notes.txt');
    const port = openProposals(dir);
    const listed = await port.list();
    expect(listed.map((v) => [v.id, v.status])).toEqual([[p.id, 'pending']]);
    expect(listed[0]).not.toHaveProperty('targetHash');
    const answer = await port.accept(p.id);
    if (!answer.ok) throw new Error(answer.reason);
    expect(await repo.git('log', '-1', '--format=%s')).toBe(`loops hill-climb: ${p.title} (${p.id})`);
    expect(await repo.git('show', '--name-only', '--format=', 'HEAD')).toBe('loops/tidy-comments/SKILL.md');
    expect(await readFile(join(dir, 'loops/tidy-comments/SKILL.md'), 'utf8')).toContain('even when unsure');
    expect(await repo.git('status', '--porcelain')).toContain('M README.md');
    expect(await repo.git('status', '--porcelain')).toContain('A  notes.txt');
    expect((await port.list())[0]).toMatchObject({ status: 'accepted', commit: answer.commit });

    // With the accepted skill the loop now verifies.
    expect(await runLoop(dir, 'tidy-comments')).toBe('verified');
  });

  it("waits at the fleet's call gate for the analyst's call and every re-run's calls, and counts them", async () => {
    repo = await makeRepo();
    const dir = repo.dir;
    expect(await runLoop(dir, 'tidy-comments')).toBe('budget');
    const gated: GatedCall[] = [];
    const callGate: CallGate = {
      wait: (call) => {
        gated.push(call);
        return Promise.resolve('go');
      },
    };
    const counted: string[] = [];
    const result = await improve({
      repoRoot: dir,
      loop: 'tidy-comments',
      env: {},
      callGate,
      countSpend: (event) => {
        if (event.type === 'model.response') counted.push(event.step);
      },
    });
    if (!result.ok) throw new Error(result.reason);
    // Every billed call is handed to the fleet's counter too (they are on no run's event stream).
    expect(counted.filter((step) => step === 'analyst')).toHaveLength(1);
    expect(counted.filter((step) => step === 'work').length).toBe(
      gated.filter((c) => c.step === 'work').length,
    );
    const steps = new Set(gated.map((c) => c.step));
    expect(steps.has('analyst')).toBe(true);
    expect(steps.has('work')).toBe(true);
    // Both arms' re-runs went through it, under their evaluation run ids.
    expect(new Set(gated.filter((c) => c.step === 'work').map((c) => c.run)).size).toBe(2);
  });

  it('never proposes a rejected change again', async () => {
    repo = await makeRepo();
    expect(await runLoop(repo.dir, 'tidy-comments')).toBe('budget');
    const first = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
    if (!first.ok) throw new Error(first.reason);
    const port = openProposals(repo.dir);
    expect(await port.reject(first.proposal.id, '  ')).toMatchObject({ ok: false });
    expect(await port.reject(first.proposal.id, 'say it in the task instead')).toMatchObject({ ok: true });
    expect(reasonOf(await port.accept(first.proposal.id))).toContain('is rejected');

    const again = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
    expect(reasonOf(again)).toContain('a person already rejected this change');
    expect((await port.list('tidy-comments', { all: true })).map((v) => v.status)).toEqual(['rejected']);
    expect(await port.list('tidy-comments')).toEqual([]);
  });

  it('stops the evaluation at hillclimb.usd_per_evaluation and files the proposal as not measured', async () => {
    repo = await makeRepo();
    const loopFile = join(repo.dir, 'loops/tidy-comments/LOOP.md');
    const text = await readFile(loopFile, 'utf8');
    await writeFile(
      loopFile,
      text.replace('budget: {', 'hillclimb: { usd_per_evaluation: 0.015 }\nbudget: {'),
    );
    await repo.git('commit', '-q', '-am', 'an evaluation cap');
    expect(await runLoop(repo.dir, 'tidy-comments')).toBe('budget');
    // The scripted model priced at a cent a call: the cap is reached at the evaluation's second call.
    const made = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {}, price: () => 0.01 });
    if (!made.ok) throw new Error(made.reason);
    expect(made.proposal.status).toBe('regressed');
    expect(made.proposal.reason).toMatch(
      /^evaluation budget spent: not measured: the evaluation spent \$0\.0200 of its \$0\.0150/,
    );
    const paths = statePaths(repo.dir);
    const evalCalls = (
      await readFile(paths.spendFile('tidy-comments', `improve-${made.proposal.id}-eval`), 'utf8')
    )
      .trim()
      .split('\n');
    expect(evalCalls).toHaveLength(2);
    expect(await openProposals(repo.dir).list()).toEqual([]);
  });

  it('measures on the eval set the loop names (hillclimb.eval), and refuses one naming an unknown run', async () => {
    repo = await makeRepo();
    const first = await runOnce(repo.dir, 'tidy-comments');
    await writeFile(join(repo.dir, 'NOTE'), 'another commit, another task\n');
    await repo.git('add', 'NOTE');
    await repo.git('commit', '-q', '-m', 'another task');
    const second = await runOnce(repo.dir, 'tidy-comments');
    const loopFile = join(repo.dir, 'loops/tidy-comments/LOOP.md');
    const text = await readFile(loopFile, 'utf8');
    await writeFile(loopFile, text.replace('budget: {', 'hillclimb: { eval: evals.txt }\nbudget: {'));
    const evals = join(repo.dir, 'loops/tidy-comments/evals.txt');
    await writeFile(evals, `# the first task only\n${first}\n${first}\n`);
    const made = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
    if (!made.ok) throw new Error(made.reason);
    // Without the eval set both failing tasks would be re-run; with it, the one it names, once.
    expect(made.proposal.evaluation.map((a) => a.perTask.map((t) => t.task))).toEqual([[first], [first]]);
    expect(made.proposal.status).toBe('pending');

    await writeFile(evals, `${second}\nnot-a-run\n`);
    const bad = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
    expect(reasonOf(bad)).toBe('loops/tidy-comments/evals.txt:2: not-a-run is not a run of tidy-comments');
  });

  it('supersedes a pending proposal whose file was edited, and refuses to accept it', async () => {
    repo = await makeRepo();
    expect(await runLoop(repo.dir, 'tidy-comments')).toBe('budget');
    const made = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
    if (!made.ok) throw new Error(made.reason);
    await appendFile(join(repo.dir, 'loops/tidy-comments/SKILL.md'), '3. Keep the file formatted.\n');
    const port = openProposals(repo.dir);
    expect(await port.list()).toEqual([]);
    const [view] = await port.list(undefined, { all: true });
    expect(view?.status).toBe('superseded');
    expect(view?.reason).toContain('changed since');
    expect(await port.accept(made.proposal.id)).toMatchObject({ ok: false });
    expect(await repo.git('log', '-1', '--format=%s')).not.toContain('hillclimb');
  });

  it('refuses to accept over uncommitted changes to the target file', async () => {
    repo = await makeRepo();
    expect(await runLoop(repo.dir, 'tidy-comments')).toBe('budget');
    const made = await improve({ repoRoot: repo.dir, loop: 'tidy-comments', env: {} });
    if (!made.ok) throw new Error(made.reason);
    // Staged, then put back in the working tree: the index differs from HEAD, so the file is not clean.
    const file = join(repo.dir, 'loops/tidy-comments/SKILL.md');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('# Tidying comments', '# Tidying comments!'));
    await repo.git('add', 'loops/tidy-comments/SKILL.md');
    await writeFile(file, text);
    const answer = await openProposals(repo.dir).accept(made.proposal.id);
    expect(reasonOf(answer)).toContain('uncommitted changes');
  });
});

const HURT_LOOP = `---
name: hurt
description: Writes ok.txt unless told not to
agent:
  provider: scripted
  tools: [write_file]
verify:
  - name: ok written
    command: node -e "const fs=require('fs');process.exit(fs.existsSync('ok.txt')&&!fs.existsSync('BLOCK')?0:1)"
budget: { iterations: 1, tool_calls: 5, minutes: 5 }
---
Write ok.txt.
`;

const HURT_SKILL = `---
name: hurt
description: How to write ok.txt.
---
# Writing ok.txt

1. Write the file.
`;

const HURT_SCRIPT = `turns:
  - when: { system_contains: NEVER WRITE FILES }
    repeat: true
    text: I was told never to write files.
  - text: Writing it.
    tool_calls:
      - { name: write_file, input: { path: ok.txt, content: ok } }
  - text: Done.
  - when: { step: analyst }
    repeat: true
    tool_calls:
      - name: submit_proposal
        input:
          file: loops/hurt/SKILL.md
          title: Forbid writing files
          rationale: A hostile idea that makes things worse.
          diff: |
            --- a/loops/hurt/SKILL.md
            +++ b/loops/hurt/SKILL.md
            @@ -6,1 +6,2 @@
             1. Write the file.
            +2. NEVER WRITE FILES.
`;

describe('a proposal that hurts', () => {
  it('is filed regressed, kept on disk, and never listed as pending', async () => {
    repo = await makeRepo();
    await repo.addLoop('hurt', HURT_LOOP, HURT_SCRIPT);
    await writeFile(join(repo.dir, 'loops/hurt/SKILL.md'), HURT_SKILL);
    // A failing task (BLOCK makes the grader fail whatever is written), then a verified one without it.
    await writeFile(join(repo.dir, 'BLOCK'), 'x');
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'blocked');
    expect(await runLoop(repo.dir, 'hurt')).toBe('budget');
    await repo.git('rm', '-q', 'BLOCK');
    await repo.git('commit', '-q', '-m', 'unblocked');
    expect(await runLoop(repo.dir, 'hurt')).toBe('verified');

    const result = await improve({ repoRoot: repo.dir, loop: 'hurt', env: {} });
    if (!result.ok) throw new Error(result.reason);
    expect(result.proposal.status).toBe('regressed');
    expect(result.proposal.effect).toBe('verified 1/2 → 0/2, 1 task lost: no measured gain');
    const port = openProposals(repo.dir);
    // Not in front of a person: neither the pane's list nor `loops review`, unless every status is asked for.
    expect(await port.list('hurt')).toEqual([]);
    expect((await port.list('hurt', { all: true })).map((v) => v.status)).toEqual(['regressed']);
    expect(await reviewList(repo.dir, false)).toContain(
      '1 regressed, rejected or superseded (--all lists them)',
    );
    expect(await reviewList(repo.dir, true)).toContain(`${result.proposal.id}  regressed`);
    expect(await port.accept(result.proposal.id)).toMatchObject({ ok: false });
    // And it is not made again: the evaluation already found no gain in it.
    const again = await improve({ repoRoot: repo.dir, loop: 'hurt', env: {} });
    expect(again).toMatchObject({ ok: false });
  });
});
