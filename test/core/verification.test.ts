/**
 * The verification loop end to end: real repositories, the supervisor, scripted models and a fake
 * Anthropic server for the judge.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { EventOf, LoopEvent } from '../../src/core/events.js';
import { readResults } from '../../src/state/results-tsv.js';
import { readTrace } from '../../src/state/trace.js';
import { startFakeAnthropic, type FakeServer, type JsonObject } from '../support/fake-anthropic.js';
import { makeRepo, type TestRepo } from './helpers.js';

let repo: TestRepo;
let supervisor: Supervisor | undefined;
let server: FakeServer | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});
afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await server?.close();
  server = undefined;
  await repo.cleanup();
});

async function addFiles(files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(repo.dir, name)), { recursive: true });
    await writeFile(path.join(repo.dir, name), content);
  }
  await repo.git('add', '-A');
  await repo.git('commit', '-q', '-m', 'fixtures');
}

async function start(loop: string, env: NodeJS.ProcessEnv = {}) {
  supervisor ??= await Supervisor.open(repo.dir, { env, maxRetries: 0 });
  const result = await supervisor.start(loop);
  return { result, events: await readTrace(result.tracePath) };
}

function ofType<T extends LoopEvent['type']>(events: LoopEvent[], type: T): Array<EventOf<T>> {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

/** Passes once `file` exists; otherwise prints `message` and fails. */
const existsCheck = (file: string, message: string): string =>
  `import { existsSync } from 'node:fs';\nif (existsSync('${file}')) { console.log('ok'); process.exit(0); }\nconsole.log('${message}');\nprocess.exit(1);\n`;

describe('holdout graders', () => {
  it('decide the outcome, but their findings never reach any model request or MEMORY.md', async () => {
    await addFiles({
      'scripts/visible.mjs': existsCheck('visible.txt', 'VISIBLE-FEEDBACK-5522: create visible.txt'),
      'scripts/holdout.mjs': `console.log('HOLDOUT-SECRET-7431: the hidden check wants feature X');\nprocess.exit(1);\n`,
      'loops/hold/RUBRIC.md': '- The work is complete\n',
    });
    await repo.addLoop(
      'hold',
      `---
name: hold
agent: { provider: anthropic, model: agent-model }
verify:
  - command: node scripts/visible.mjs
    name: visible
  - command: node scripts/holdout.mjs
    name: hidden
    holdout: true
  - rubric: RUBRIC.md
    name: hidden judge
    model: judge-model
    holdout: true
budget: { iterations: 3 }
---
Do the work.
`,
    );
    const lastMessage = (body: JsonObject): string => {
      const messages = body.messages as unknown[];
      return JSON.stringify(messages[messages.length - 1]);
    };
    server = await startFakeAnthropic((body) => {
      if (body.model === 'judge-model') {
        const input = {
          result: 'needs_revision',
          score: 0.2,
          explanation: 'HOLDOUT-JUDGE-9911 is not there yet.',
          criteria: [{ name: 'The work is complete', passed: false, gap: 'HOLDOUT-GAP-8832' }],
        };
        return { toolCalls: [{ name: 'submit_verdict', input }] };
      }
      const last = lastMessage(body);
      if (last.includes('Write a handoff')) return { text: '### Goal\nKeep going.' };
      if (last.includes('This is iteration 1 of')) {
        return { toolCalls: [{ name: 'write_file', input: { path: 'notes.txt', content: 'one\n' } }] };
      }
      if (/This is iteration \d+ of/.test(last)) {
        return { toolCalls: [{ name: 'write_file', input: { path: 'visible.txt', content: 'ok\n' } }] };
      }
      return { text: 'Done for this iteration.' };
    });
    const { result, events } = await start('hold', {
      ANTHROPIC_API_KEY: 'k',
      ANTHROPIC_BASE_URL: server.url,
    });

    expect(result.outcome).toBe('budget');
    const secrets = ['HOLDOUT-SECRET-7431', 'HOLDOUT-JUDGE-9911', 'HOLDOUT-GAP-8832'];
    // The holdouts really did produce those findings...
    const results = JSON.stringify(ofType(events, 'grader.result'));
    for (const secret of secrets) expect(results).toContain(secret);
    // ...and the visible grader's feedback did reach the agent, so the channel works...
    const raw = server.requests.map((r) => r.raw);
    expect(raw.some((body) => body.includes('VISIBLE-FEEDBACK-5522'))).toBe(true);
    expect(server.requests.filter((r) => r.body.model === 'judge-model')).toHaveLength(3);
    // ...but no request, judge requests included, ever carried a holdout's finding.
    expect(raw.length).toBeGreaterThan(8);
    for (const body of raw) for (const secret of secrets) expect(body).not.toContain(secret);
    const memory = await readFile(path.join(repo.dir, 'state/hold/MEMORY.md'), 'utf8');
    for (const secret of secrets) expect(memory).not.toContain(secret);
    expect(memory).toContain('hidden');
    const errors = await readFile(path.join(repo.dir, 'state/hold/errors.json'), 'utf8');
    for (const secret of secrets) expect(errors).not.toContain(secret);
  });
});

describe('protected files', () => {
  it('refuses writes to RUBRIC.md, LOOP.md, protect globs and the grader script, as tool errors', async () => {
    await addFiles({
      'scripts/check.mjs': existsCheck('src/done.txt', 'src/done.txt is missing'),
      'loops/guard/RUBRIC.md': '- The work is done\n',
    });
    await repo.addLoop(
      'guard',
      `---
name: guard
agent: { provider: scripted }
verify:
  - command: node scripts/check.mjs
    protect: ["test/**"]
---
Make the check pass.
`,
      `turns:
  - when: { step: work, contains: "iteration 1 of" }
    text: Trying to game the graders.
    tool_calls:
      - { name: write_file, input: { path: loops/guard/RUBRIC.md, content: "- nothing\\n" } }
      - { name: edit_file, input: { path: test/cart.test.js, old_string: "600", new_string: "250" } }
      - { name: write_file, input: { path: test/new.test.js, content: "x" } }
      - { name: write_file, input: { path: scripts/check.mjs, content: "process.exit(0)\\n" } }
      - { name: write_file, input: { path: loops/guard/LOOP.md, content: "x" } }
      - { name: write_file, input: { path: src/done.txt, content: "done\\n" } }
  - when: { step: work }
    text: Done.
`,
    );
    const { result, events } = await start('guard');
    expect(result.outcome).toBe('verified');
    const outcomes = ofType(events, 'tool.result').map((r) => [r.name, r.ok]);
    expect(outcomes).toEqual([
      ['write_file', false],
      ['edit_file', false],
      ['write_file', false],
      ['write_file', false],
      ['write_file', false],
      ['write_file', true],
    ]);
    for (const refused of ofType(events, 'tool.result').slice(0, 5)) {
      expect(refused.output).toMatch(/belongs to a grader \(protected by "[^"]+"\) and may not be changed/);
    }
    const show = (file: string) => repo.git('show', `${result.branch}:${file}`);
    expect(await show('loops/guard/RUBRIC.md')).toBe('- The work is done');
    expect(await show('test/cart.test.js')).toContain('600');
    expect(await show('scripts/check.mjs')).toContain('src/done.txt is missing');
    await expect(show('test/new.test.js')).rejects.toThrow();
    expect(await show('src/done.txt')).toBe('done');
  });
});

describe('regressions', () => {
  it('reports a grader that passed and now fails, with the diff since it passed, and tells the agent', async () => {
    await addFiles({
      'scripts/a.mjs': `import { existsSync, readFileSync } from 'node:fs';\nconst text = existsSync('a.txt') ? readFileSync('a.txt', 'utf8') : '';\nif (text.includes('broken')) { console.log('a is broken'); process.exit(1); }\nconsole.log('a ok');\n`,
      'scripts/b.mjs': existsCheck('b.txt', 'b.txt is missing'),
    });
    await repo.addLoop(
      'regress',
      `---
name: regress
agent: { provider: scripted }
verify:
  - { command: node scripts/a.mjs, name: A }
  - { command: node scripts/b.mjs, name: B }
budget: { iterations: 3 }
---
Make both pass.
`,
      `turns:
  - when: { step: work, contains: "iteration 1 of" }
    text: Looking around.
  - when: { step: work, contains: "iteration 2 of" }
    text: Changing a.txt.
    tool_calls:
      - { name: write_file, input: { path: a.txt, content: "broken\\n" } }
  - when: { step: work, contains: "created a.txt" }
    text: Done.
  - when: { step: work, contains: "Regression: this grader passed on iteration 1" }
    text: Saw the regression.
`,
    );
    const { result, events } = await start('regress');
    expect(result.outcome).toBe('budget');
    const regressions = ofType(events, 'grader.regression');
    expect(regressions).toHaveLength(1);
    expect(regressions[0]).toMatchObject({ grader: 'A', passedAt: 1, iteration: 2 });
    expect(regressions[0]?.diff).toContain('a.txt');
    expect(regressions[0]?.diff).toContain('+broken');
    const recorded = ofType(events, 'error.recorded').filter((e) => e.class === 'grader_regression');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.message).toContain('A regressed');
    // The regression leads the feedback the next iteration was given (its script turn needs the note).
    const third = ofType(events, 'model.response').filter((e) => e.iteration === 3 && e.step === 'work');
    expect(third.map((e) => e.text)).toEqual(['Saw the regression.']);
  });
});

describe('errors', () => {
  it('recognises a repeated error within a run and across runs', async () => {
    await addFiles({ 'scripts/b.mjs': existsCheck('b.txt', 'b.txt is missing') });
    await repo.addLoop(
      'same',
      `---
name: same
agent: { provider: scripted }
verify:
  - command: node scripts/b.mjs
budget: { iterations: 2 }
---
Make it pass.
`,
      `turns:
  - when: { step: work, matches: "This is iteration \\\\d+ of" }
    repeat: true
    text: Reading.
    tool_calls:
      - { name: read_file, input: { path: missing-file.txt } }
  - when: { step: work, contains: "no such file" }
    repeat: true
    text: Giving up for now.
`,
    );
    const first = await start('same');
    const recorded = ofType(first.events, 'error.recorded');
    expect(recorded.map((e) => [e.iteration, e.class, e.repeated, e.count])).toEqual([
      [1, 'tool_failure', false, 1],
      [1, 'grader_failure', false, 1],
      [2, 'tool_failure', true, 2],
      [2, 'grader_failure', true, 2],
    ]);
    const memory = await readFile(path.join(repo.dir, 'state/same/MEMORY.md'), 'utf8');
    expect(memory).toMatch(/Iteration 2: .*repeated errors: tool_failure, grader_failure/);
    expect(memory).not.toMatch(/Iteration 1: .*repeated errors/);

    const second = await start('same');
    const again = ofType(second.events, 'error.recorded');
    expect(again.slice(0, 2).map((e) => [e.class, e.repeated, e.count])).toEqual([
      ['tool_failure', true, 3],
      ['grader_failure', true, 3],
    ]);
    expect(again[0]?.signature).toBe(recorded[0]?.signature);
  });
});

describe('a metric loop', () => {
  it('measures the original first, keeps only what beats it, logs results.tsv, and is verified by an improvement', async () => {
    await addFiles({
      'bench.mjs': `import { readFileSync } from 'node:fs';\nconsole.log('score=' + readFileSync('score.txt', 'utf8').trim());\n`,
      'score.txt': '6\n',
    });
    await repo.addLoop(
      'climb',
      `---
name: climb
agent: { provider: scripted }
verify:
  - metric: { command: node bench.mjs, pattern: "score=([0-9.]+)", goal: maximize }
budget: { iterations: 4 }
---
Raise the score.
`,
      `turns:
  - when: { step: work, contains: "iteration 1 of" }
    text: A first attempt, worse than the original.
    tool_calls:
      - { name: write_file, input: { path: score.txt, content: "5\\n" } }
  - when: { step: work, contains: "iteration 2 of" }
    text: A worse idea.
    tool_calls:
      - { name: write_file, input: { path: score.txt, content: "3\\n" } }
      - { name: write_file, input: { path: idea2.txt, content: "x\\n" } }
  - when: { step: work, contains: "iteration 3 of" }
    text: A better idea.
    tool_calls:
      - { name: write_file, input: { path: score.txt, content: "9\\n" } }
  - when: { step: work }
    repeat: true
    text: Done.
`,
    );
    const { result, events } = await start('climb');
    expect(result.outcome).toBe('verified');
    expect(result.iterations).toBe(3);
    const rows = await readResults(path.join(repo.dir, 'state/climb/results.tsv'));
    expect(rows.map((r) => [r.value, r.status, r.description, r.iteration, r.run])).toEqual([
      [6, 'baseline', 'the unmodified code', 0, result.run],
      [5, 'discard', 'Done.', 1, result.run],
      [3, 'discard', 'Done.', 2, result.run],
      [9, 'keep', 'Done.', 3, result.run],
    ]);
    const recorded = ofType(events, 'metric.recorded');
    expect(recorded.map((e) => [e.status, e.best])).toEqual([
      ['baseline', 6],
      ['discard', 6],
      ['discard', 6],
      ['keep', 9],
    ]);
    // The discarded attempt is not on the branch; the kept ones are.
    expect(await repo.git('show', `${result.branch}:score.txt`)).toBe('9');
    await expect(repo.git('show', `${result.branch}:idea2.txt`)).rejects.toThrow();
    const discarded = recorded[2]?.commit ?? '';
    const onBranch = await repo.git('branch', '--contains', discarded);
    expect(onBranch).not.toContain(result.branch);
    expect(await repo.git('branch', '--contains', recorded[3]?.commit ?? '')).toContain(result.branch);
    // The baseline was measured before the first iteration: its event comes before iteration 1 starts.
    const order = events.map((e) => e.type);
    expect(order.indexOf('metric.recorded')).toBeLessThan(order.indexOf('iteration.started'));
  });
});
