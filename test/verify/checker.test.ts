import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { TurnDeps } from '../../src/core/run/agent-turn.js';
import { checkerGraderSchema } from '../../src/core/definition/schema.js';
import { createCheckerGrader } from '../../src/core/verify/checker.js';
import type { SubAgentRequest } from '../../src/core/verify/grader.js';
import { runSubAgentTurn, WriteToolRefusedError } from '../../src/core/verify/sub-agent.js';
import { ProviderError, type ModelProvider } from '../../src/models/provider.js';
import { readTrace } from '../../src/state/trace.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { gradeContext, testDefinition } from './context.js';
import { repoWithWorktree } from './worktree.js';

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

const LOOP = `---
name: checked
agent: { provider: scripted, route: { review: checker-model } }
verify:
  - checker: { prompt: "NOTES.md must say hello." }
budget: { iterations: 2 }
---
Write NOTES.md saying hello.
`;

const SATISFIED = {
  result: 'satisfied',
  score: 1,
  explanation: 'NOTES.md says hello.',
  criteria: [{ name: 'notes', passed: true }],
};
const VERDICT = JSON.stringify(SATISFIED);

/** A script turn's tool_calls giving this verdict (JSON is YAML). */
const verdictCall = (verdict: string): string => `tool_calls: [{ name: submit_verdict, input: ${verdict} }]`;

const SCRIPT = `turns:
  - when: { step: work, contains: "iteration 1 of" }
    text: Writing the notes.
    tool_calls:
      - { name: write_file, input: { path: NOTES.md, content: "hello\\n" } }
  - when: { step: work, contains: "created NOTES.md" }
    text: Done.
  - when: { step: review, contains: "Inspect the worktree now" }
    text: I will just fix it myself.
    tool_calls:
      - { name: write_file, input: { path: NOTES.md, content: "checker was here\\n" } }
      - { name: edit_file, input: { path: NOTES.md, old_string: hello, new_string: bye } }
      - { name: read_file, input: { path: NOTES.md } }
  - when: { step: review }
    ${verdictCall(VERDICT)}
`;

describe('the checker sub-agent', () => {
  it('inspects with read-only tools in its own conversation, cannot write, and its verdict decides', async () => {
    await repo.addLoop('checked', LOOP, SCRIPT);
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const result = await supervisor.start('checked');
    expect(result.reason).toContain('passed');
    expect(result.outcome).toBe('verified');

    // Nothing the checker tried changed the work.
    expect(await readFile(path.join(result.worktree, 'NOTES.md'), 'utf8')).toBe('hello\n');
    expect(await repo.git('show', `${result.branch}:NOTES.md`)).toBe('hello');

    const events = await readTrace(result.tracePath);
    const reviewRequests = events.filter((e) => e.type === 'model.request' && e.step === 'review');
    expect(reviewRequests.length).toBe(2);
    for (const r of reviewRequests) expect(r.type === 'model.request' && r.model).toBe('checker-model');
    // Its first request is its own one-message conversation, not the author's.
    expect(reviewRequests[0]?.type === 'model.request' && reviewRequests[0].messages).toBe(1);

    const checkerResults = events.filter(
      (e) => e.type === 'tool.result' && e.seq > (reviewRequests[0]?.seq ?? Infinity),
    );
    expect(checkerResults.map((e) => (e.type === 'tool.result' ? [e.name, e.ok] : []))).toEqual([
      ['write_file', false],
      ['edit_file', false],
      ['read_file', true],
    ]);
    const refused = checkerResults[0];
    expect(refused?.type === 'tool.result' && refused.output).toContain('unknown tool "write_file"');
    expect(refused?.type === 'tool.result' && refused.output).toContain('read_file, list_files, search');
    const read = checkerResults[2];
    expect(read?.type === 'tool.result' && read.output).toContain('hello');

    const verdict = events.find((e) => e.type === 'grader.result');
    expect(verdict).toMatchObject({ name: 'checker', kind: 'checker', passed: true, score: 1 });
  });

  it('fails with an error when its verdict stays malformed after one retry', async () => {
    const script = `turns:
  - when: { step: work }
    text: Nothing to do.
  - when: { step: review }
    repeat: true
    text: I looked around and it seems fine to me.
    ${verdictCall('{ result: great, score: 1 }')}
`;
    await repo.addLoop('checked', LOOP.replace('iterations: 2', 'iterations: 1'), script);
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const result = await supervisor.start('checked');
    expect(result.outcome).toBe('budget');
    const events = await readTrace(result.tracePath);
    expect(events.filter((e) => e.type === 'model.request' && e.step === 'review')).toHaveLength(2);
    const verdict = events.find((e) => e.type === 'grader.result');
    expect(verdict?.type === 'grader.result' && verdict.passed).toBe(false);
    expect(verdict?.type === 'grader.result' && verdict.error).toContain('malformed verdict after one retry');
    const recorded = events.find((e) => e.type === 'error.recorded');
    expect(recorded).toMatchObject({ class: 'malformed_output' });
  });

  it('is forced to call submit_verdict when it stops in text; a verdict in its text never counts', async () => {
    const failing = JSON.stringify({
      result: 'failed',
      score: 0,
      explanation: 'NOTES.md is missing.',
      criteria: [{ name: 'notes', passed: false, gap: 'no NOTES.md' }],
    });
    const script = `turns:
  - when: { step: work }
    repeat: true
    text: Nothing to do.
  - when: { step: review, contains: "Inspect the worktree now" }
    text: '${VERDICT}'
  - when: { step: review, contains: "call submit_verdict" }
    ${verdictCall(failing)}
`;
    await repo.addLoop('checked', LOOP.replace('iterations: 2', 'iterations: 1'), script);
    const choices: unknown[] = [];
    const wrap = (inner: ModelProvider): ModelProvider => ({
      name: inner.name,
      complete: (request) => {
        if (request.step === 'review') choices.push(request.toolChoice ?? 'auto');
        return inner.complete(request);
      },
    });
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0, wrapProvider: wrap });
    const result = await supervisor.start('checked');
    expect(result.outcome).not.toBe('verified');
    // Free to use its tools first; the call after it stopped in text forced the verdict.
    expect(choices).toEqual(['auto', { type: 'tool', name: 'submit_verdict' }]);
    const events = await readTrace(result.tracePath);
    const verdict = events.find((e) => e.type === 'grader.result');
    expect(verdict).toMatchObject({ passed: false, score: 0 });
    expect(verdict?.type === 'grader.result' && verdict.error).toBeUndefined();
  });

  it('ends its turn at the verdict call: a call beside it is not run', async () => {
    const script = `turns:
  - when: { step: work }
    repeat: true
    text: Nothing to do.
  - when: { step: review }
    tool_calls:
      - { name: read_file, input: { path: package.json } }
      - { name: submit_verdict, input: ${VERDICT} }
`;
    await repo.addLoop('checked', LOOP.replace('iterations: 2', 'iterations: 1'), script);
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const result = await supervisor.start('checked');
    expect(result.outcome).toBe('verified');
    const events = await readTrace(result.tracePath);
    expect(events.filter((e) => e.type === 'model.request' && e.step === 'review')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'tool.call')).toHaveLength(0);
  });

  it('is a grader error, never a pass, when a scripted checker answers a forced call in text', async () => {
    const script = `turns:
  - when: { step: work }
    repeat: true
    text: Nothing to do.
  - when: { step: review }
    repeat: true
    text: '${VERDICT}'
`;
    await repo.addLoop('checked', LOOP.replace('iterations: 2', 'iterations: 1'), script);
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    const result = await supervisor.start('checked');
    expect(result.outcome).not.toBe('verified');
    const events = await readTrace(result.tracePath);
    const verdict = events.find((e) => e.type === 'grader.result');
    expect(verdict?.type === 'grader.result' && verdict.passed).toBe(false);
    expect(verdict?.type === 'grader.result' && verdict.error).toContain(
      'must call submit_verdict, but makes no such call',
    );
  });

  it("does not let a person's urgent instruction abort the checker; the agent gets it next", async () => {
    const needsWork = JSON.stringify({
      result: 'needs_revision',
      score: 0.3,
      explanation: 'Not yet.',
      criteria: [{ name: 'notes', passed: false, gap: 'NOTES.md is missing' }],
    });
    const script = `turns:
  - when: { step: work, contains: "iteration 1 of" }
    text: Nothing yet.
  - when: { step: work, contains: "iteration 2 of" }
    text: Looking.
    tool_calls:
      - { name: list_files, input: {} }
  - when: { step: work }
    repeat: true
    text: Done.
  - when: { step: review, contains: "Inspect the worktree now" }
    text: Listing the files.
    tool_calls:
      - { name: list_files, input: {} }
  - when: { step: review, contains: "package.json" }
    ${verdictCall(needsWork)}
  - when: { step: review, contains: "Inspect the worktree now" }
    ${verdictCall(VERDICT)}
`;
    await repo.addLoop('checked', LOOP, script);
    let reviewStarted!: () => void;
    const started = new Promise<void>((resolve) => (reviewStarted = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let blocked = false;
    const wrap = (inner: ModelProvider): ModelProvider => ({
      name: inner.name,
      complete: async (request) => {
        // Hold the checker's first review call until the person has spoken.
        if (request.step === 'review' && !blocked) {
          blocked = true;
          reviewStarted();
          await released;
          if (request.signal?.aborted)
            throw new ProviderError('aborted', 'the review call was aborted', inner.name);
        }
        return inner.complete(request);
      },
    });
    supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0, wrapProvider: wrap });
    const running = supervisor.start('checked');
    await started;
    supervisor.send({ type: 'instruct', loop: 'checked', text: 'URGENT-FOR-THE-AGENT', now: true });
    release();
    const result = await running;
    expect(result.outcome).toBe('verified');

    const events = await readTrace(result.tracePath);
    const received = events.filter((e) => e.type === 'instruction.received');
    expect(received).toHaveLength(1);
    // The checker's call was not aborted, and the instruction reached the agent's next iteration.
    expect(received[0]).toMatchObject({ iteration: 2, text: 'URGENT-FOR-THE-AGENT', mode: 'now' });
    const firstVerdict = events.find((e) => e.type === 'grader.result');
    expect(firstVerdict).toMatchObject({ iteration: 1, passed: false, score: 0.3 });
  });

  it('refuses to give a sub-agent a tool that writes, before anything runs', async () => {
    const unused = {} as TurnDeps;
    for (const tool of ['write_file', 'edit_file', 'run'] as const) {
      await expect(
        runSubAgentTurn(unused, { system: 's', user: 'u', tools: ['read_file', tool] }),
      ).rejects.toThrow(WriteToolRefusedError);
    }
  });

  it("grades the loop's rubric by its criterion names: a verdict on criteria of its own is asked again", async () => {
    const setup = await repoWithWorktree();
    try {
      const requests: SubAgentRequest[] = [];
      const replies = [
        // Its own criteria instead of the rubric's, then the rubric's.
        { ...SATISFIED, criteria: [{ name: 'the task', passed: true }] },
        { ...SATISFIED, criteria: [{ name: 'Notes say HELLO', passed: true }] },
      ];
      const ctx = gradeContext(setup.tree.path, {
        baseSha: setup.tree.baseSha,
        worktrees: setup.worktrees,
        definition: testDefinition({
          rubric: { path: 'loops/test-loop/RUBRIC.md', criteria: [{ name: 'notes say hello', text: 'x' }] },
        }),
        runSubAgent: (request) => {
          requests.push(request);
          return Promise.resolve({
            kind: 'done',
            // Text is never the verdict, even a verdict-shaped one.
            text: JSON.stringify(SATISFIED),
            finish: {
              id: `v${requests.length}`,
              name: 'submit_verdict',
              input: replies[requests.length - 1],
            },
          });
        },
      });
      const verdict = await createCheckerGrader(checkerGraderSchema.parse({ checker: true }), 0).grade(ctx);
      expect(requests).toHaveLength(2);
      expect(requests[0]?.finish?.tool.name).toBe('submit_verdict');
      expect(JSON.stringify(requests[0]?.finish?.tool.inputSchema)).toContain('"enum":["notes say hello"]');
      expect(requests[0]?.user).toContain('by these names: "notes say hello"');
      expect(requests[1]?.user).toContain('criteria names "the task", which the rubric does not have');
      expect(verdict).toMatchObject({ passed: true, score: 1 });
    } finally {
      await setup.repo.cleanup();
    }
  });
});
