import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { readTrace } from '../../src/state/trace.js';
import { StateLockedError } from '../../src/state/lock.js';
import { makeRepo, type TestRepo } from './helpers.js';

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

async function open(env: NodeJS.ProcessEnv = {}): Promise<Supervisor> {
  supervisor = await Supervisor.open(repo.dir, { env, maxRetries: 0 });
  return supervisor;
}

describe('a scripted run in a real repository', () => {
  it('fails its grader, reads the feedback, and ends verified with the fix on its branch', async () => {
    const s = await open();
    const seen: LoopEvent[] = [];
    s.subscribe((e) => seen.push(e));
    const result = await s.start('fix-tests');

    expect(result.outcome).toBe('verified');
    expect(result.iterations).toBe(2);
    expect(result.branch).toBe(`loops/fix-tests/${result.run}`);

    const onBranch = await repo.git('show', `${result.branch}:src/cart.js`);
    expect(onBranch).toContain('item.priceCents * item.quantity');
    expect(onBranch).toContain('(cents / 100).toFixed(2)');
    // The repository's own checkout is untouched and .loops/ stays out of git status.
    expect(await readFile(join(repo.dir, 'src/cart.js'), 'utf8')).not.toContain('* item.quantity');
    expect(await repo.git('status', '--porcelain')).not.toContain('.loops');

    const graders = seen.filter((e) => e.type === 'grader.result');
    expect(graders.map((g) => (g.type === 'grader.result' ? g.passed : null))).toEqual([false, true]);
    const secondContext = seen.find((e) => e.type === 'context.assembled' && e.iteration === 2);
    expect(secondContext?.type === 'context.assembled' && secondContext.parts.feedback).toBeGreaterThan(0);
  });

  it('writes the trace in order: model, tool and grader events, then exactly one run.ended', async () => {
    const s = await open();
    const result = await s.start('fix-tests');
    const events = await readTrace(result.tracePath);
    const types = events.map((e) => e.type);

    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.ended');
    expect(types.filter((t) => t === 'run.ended')).toHaveLength(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Streamed text (model.delta) and classified errors (error.recorded) interleave; the order of the
    // steps themselves is what this checks.
    const steps = types.filter((t) => t !== 'model.delta' && t !== 'error.recorded');
    const firstIteration = steps.slice(
      steps.indexOf('iteration.started'),
      steps.indexOf('iteration.ended') + 1,
    );
    expect(firstIteration).toEqual([
      'iteration.started',
      'context.assembled',
      'model.request',
      'model.response',
      'tool.call',
      'tool.result',
      'model.request',
      'model.response',
      'tool.call',
      'tool.result',
      'model.request',
      'model.response',
      'tool.call',
      'tool.result',
      'model.request',
      'model.response',
      'grader.started',
      'grader.result',
      'memory.updated',
      'iteration.committed',
      'iteration.ended',
    ]);
    // Text reaches the trace as it streams, before the response that carries all of it.
    const firstResponse = types.indexOf('model.response');
    expect(types.slice(types.indexOf('model.request'), firstResponse)).toContain('model.delta');
    const errors = events.flatMap((e) => (e.type === 'error.recorded' ? [e.class] : []));
    expect(errors).toEqual(['tool_failure', 'grader_failure']);
    const response = events.find((e) => e.type === 'model.response');
    expect(response?.type === 'model.response' && response.usage.input).toBeGreaterThan(0);
  });

  it('leaves a summary, memory and an index entry', async () => {
    const s = await open();
    const result = await s.start('fix-tests');
    const summary = await readFile(result.summaryPath, 'utf8');
    expect(summary).toContain('verified');
    expect(summary).toContain(result.branch);
    const memory = await readFile(join(repo.dir, 'state/fix-tests/MEMORY.md'), 'utf8');
    expect(memory).toMatch(/Iteration 1: .*failed/);
    expect(memory).toMatch(/Iteration 2: .*all graders passed/);
    const index = JSON.parse(await readFile(join(repo.dir, 'state/loops.json'), 'utf8')) as {
      runs: Array<{ run: string; status: string }>;
    };
    expect(index.runs.find((r) => r.run === result.run)?.status).toBe('verified');
  });

  it('keeps the memory each run started from beside its summary, so its task can be replayed from it', async () => {
    const s = await open();
    const first = await s.start('fix-tests');
    // The first run found no memory: none is kept for it.
    expect(existsSync(join(repo.dir, `state/fix-tests/runs/${first.run}.memory.md`))).toBe(false);
    const before = await readFile(join(repo.dir, 'state/fix-tests/MEMORY.md'), 'utf8');
    const second = await s.start('fix-tests');
    const kept = await readFile(join(repo.dir, `state/fix-tests/runs/${second.run}.memory.md`), 'utf8');
    expect(kept).toBe(before);
    // The memory went on changing after the second run started; the kept copy did not.
    expect(await readFile(join(repo.dir, 'state/fix-tests/MEMORY.md'), 'utf8')).not.toBe(kept);
  });

  it('ends at its iteration budget, never as verified', async () => {
    const s = await open();
    const result = await s.start('tidy-comments');
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'iterations', limit: 2, used: 2 });
    expect(result.reason).toContain('iterations budget reached');
  });

  it('ends at its tool-call budget without running the call past the cap', async () => {
    await repo.addLoop(
      'many-calls',
      '---\nname: many-calls\nagent: { provider: scripted }\nbudget: { tool_calls: 2 }\n---\nList things.\n',
      'turns:\n  - tool_calls:\n      - { name: list_files, input: {} }\n      - { name: list_files, input: {} }\n      - { name: list_files, input: {} }\n',
    );
    const s = await open();
    const result = await s.start('many-calls');
    expect(result.outcome).toBe('budget');
    expect(result.budget).toEqual({ cap: 'tool_calls', limit: 2, used: 2 });
    const events = await readTrace(result.tracePath);
    expect(events.filter((e) => e.type === 'tool.result')).toHaveLength(2);
  });

  it('refuses a path outside the worktree as a tool error and goes on', async () => {
    await repo.addLoop(
      'escape',
      '---\nname: escape\nagent: { provider: scripted }\nverify:\n  - command: node --version\n---\nRead.\n',
      'turns:\n  - tool_calls:\n      - { name: read_file, input: { path: ../../../etc/passwd } }\n      - { name: read_file, input: { path: /etc/passwd } }\n  - text: done\n',
    );
    const s = await open();
    const result = await s.start('escape');
    expect(result.outcome).toBe('verified');
    const results = (await readTrace(result.tracePath)).filter((e) => e.type === 'tool.result');
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.type === 'tool.result' && r.ok).toBe(false);
      expect(r.type === 'tool.result' && r.output).toMatch(/outside the worktree/);
    }
  });

  it("puts back a grader's script that the agent changed through a command, and tells it", async () => {
    await repo.addLoop(
      'tamper',
      '---\nname: tamper\nagent: { provider: scripted }\nverify:\n  - command: node scripts/lint.js\nbudget: { iterations: 1 }\n---\nLint.\n',
      'turns:\n  - tool_calls:\n      - { name: run, input: { command: "echo \'process.exit(0)\' > scripts/lint.js" } }\n  - text: done\n',
    );
    const original = await readFile(join(repo.dir, 'scripts/lint.js'), 'utf8');
    const s = await open();
    const result = await s.start('tamper');
    expect(result.outcome).toBe('budget');
    expect(await repo.git('show', `${result.branch}:scripts/lint.js`)).toBe(original.trimEnd());
    const events = await readTrace(result.tracePath);
    const restored = events.find((e) => e.type === 'error.recorded' && e.message.includes('restored'));
    expect(restored?.type === 'error.recorded' && restored.message).toContain('scripts/lint.js');
    const grader = events.find((e) => e.type === 'grader.result');
    expect(grader?.type === 'grader.result' && grader.passed).toBe(false);
    const memory = await readFile(join(repo.dir, 'state/tamper/MEMORY.md'), 'utf8');
    expect(memory).toContain('Protected files restored');
  });

  it('never reports verified without a grader: a loop with no verify list is checked by a checker agent', async () => {
    await repo.addLoop(
      'unchecked',
      '---\nname: unchecked\nagent: { provider: scripted }\nbudget: { iterations: 1 }\n---\nDo it.\n',
      'turns:\n  - text: I am done, trust me.\n',
    );
    const s = await open();
    const result = await s.start('unchecked');
    // The script never answers the checker, so its verdict is malformed: a grader error, not a pass.
    expect(result.outcome).toBe('budget');
    const graders = (await readTrace(result.tracePath)).filter((e) => e.type === 'grader.result');
    expect(graders).toHaveLength(1);
    expect(graders[0]?.type === 'grader.result' && graders[0].kind).toBe('checker');
    expect(graders[0]?.type === 'grader.result' && graders[0].passed).toBe(false);
  });

  it("keeps a person's edit to MEMORY.md made during a run, and records a stop as a correction", async () => {
    await repo.addLoop(
      'slow-memory',
      '---\nname: slow-memory\nagent: { provider: scripted }\nverify:\n  - command: "false"\n---\nWait.\n',
      'turns:\n  - text: first\n  - repeat: true\n    tool_calls:\n      - { name: run, input: { command: sleep 30 } }\n',
    );
    const s = await open();
    const memoryFile = join(repo.dir, 'state/slow-memory/MEMORY.md');
    let edited = false;
    s.subscribe((e) => {
      if (e.type === 'iteration.started' && e.iteration === 2 && !edited) {
        edited = true;
        // A person adds a note between iterations, while the run goes on.
        const text = readFileSync(memoryFile, 'utf8');
        writeFileSync(
          memoryFile,
          text.replace('## Notes\n\n_(none)_', '## Notes\n\nUse the staging database.'),
        );
      }
      if (e.type === 'tool.call' && e.iteration === 2) s.send({ type: 'stop', loop: 'slow-memory' });
    });
    const result = await s.start('slow-memory');
    expect(result.outcome).toBe('stopped');
    const memory = await readFile(memoryFile, 'utf8');
    expect(memory).toContain('Use the staging database.');
    expect(memory).toMatch(/iteration 2: stopped by a person/);
  });

  it("lets a running command finish when a person interrupts with '!', then hands the agent the instruction", async () => {
    await repo.addLoop(
      'busy',
      '---\nname: busy\nagent: { provider: scripted }\nverify:\n  - command: "true"\n---\nWork.\n',
      'turns:\n  - tool_calls:\n      - { name: run, input: { command: "sleep 2 && echo finished" } }\n  - text: done\n',
    );
    const s = await open();
    s.subscribe((e) => {
      // Sent once the command is under way. Arriving late cannot make this fail with correct code; it only
      // weakens the check, so no timing is asserted.
      if (e.type === 'tool.call') {
        setTimeout(() => s.send({ type: 'instruct', loop: 'busy', text: 'mind the cache', now: true }), 500);
      }
    });
    const result = await s.start('busy');
    expect(result.outcome).toBe('verified');
    const events = await readTrace(result.tracePath);
    const toolResult = events.find((e) => e.type === 'tool.result');
    expect(toolResult?.type === 'tool.result' && toolResult.output).toContain('finished');
    const received = events.find((e) => e.type === 'instruction.received');
    expect(received).toMatchObject({ iteration: 1, mode: 'now', text: 'mind the cache' });
    expect(await readFile(join(repo.dir, 'state/busy/MEMORY.md'), 'utf8')).toContain('mind the cache');
  });

  it('gives an instruction sent to an idle loop to its next run', async () => {
    const s = await open();
    s.send({ type: 'instruct', loop: 'fix-tests', text: 'keep prices in cents', now: false });
    const result = await s.start('fix-tests');
    const received = (await readTrace(result.tracePath)).find((e) => e.type === 'instruction.received');
    expect(received?.type === 'instruction.received' && received.text).toBe('keep prices in cents');
    expect(received?.iteration).toBe(1);
  });

  it('stops gracefully when asked, aborting the tool call in flight', async () => {
    await repo.addLoop(
      'slow',
      '---\nname: slow\nagent: { provider: scripted }\n---\nWait.\n',
      'turns:\n  - repeat: true\n    tool_calls:\n      - { name: run, input: { command: sleep 30 } }\n',
    );
    const s = await open();
    s.subscribe((e) => {
      if (e.type === 'tool.call') s.send({ type: 'stop', loop: 'slow' });
    });
    const result = await s.start('slow');
    expect(result.outcome).toBe('stopped');
    expect(result.reason).toBe('stopped by a person');
    expect(result.toolCalls).toBe(1);
  });

  it('fails clearly, creating nothing, when the provider key is missing', async () => {
    await repo.addLoop('keyless', '---\nname: keyless\nagent: { provider: anthropic }\n---\nWork.\n');
    const s = await open({});
    const result = await s.start('keyless');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('ANTHROPIC_API_KEY');
    expect(result.branch).toBe('');
    expect(existsSync(join(repo.dir, '.loops/worktrees/keyless'))).toBe(false);
    expect(await readFile(result.summaryPath, 'utf8')).toContain('ANTHROPIC_API_KEY');
  });

  it('takes instructions queued for the next iteration into the context and memory', async () => {
    const s = await open();
    let sent = false;
    s.subscribe((e) => {
      if (!sent && e.type === 'tool.call') {
        sent = true;
        s.send({ type: 'instruct', loop: 'fix-tests', text: 'prefer toFixed for money', now: false });
      }
    });
    const result = await s.start('fix-tests');
    const events = await readTrace(result.tracePath);
    const received = events.find((e) => e.type === 'instruction.received');
    expect(received?.iteration).toBe(2);
    const memory = await readFile(join(repo.dir, 'state/fix-tests/MEMORY.md'), 'utf8');
    expect(memory).toContain('prefer toFixed for money');
  });
});

describe('the state folder', () => {
  it('has one writer: a second supervisor is told and touches nothing', async () => {
    await open();
    const before = await readdir(join(repo.dir, 'state'));
    await expect(Supervisor.open(repo.dir)).rejects.toBeInstanceOf(StateLockedError);
    await expect(Supervisor.open(repo.dir)).rejects.toThrow(/pid \d+/);
    expect(await readdir(join(repo.dir, 'state'))).toEqual(before);
  });
});
