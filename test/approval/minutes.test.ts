import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeRun } from '../../src/core/run/run.js';
import { RunControl } from '../../src/core/run/control.js';
import { ApprovalGate } from '../../src/core/approval/gate.js';
import { loadLoop } from '../../src/core/definition/load.js';
import type { LoopEvent } from '../../src/core/events.js';
import { createProvider } from '../../src/models/factory.js';
import { Worktrees } from '../../src/workspace/worktrees.js';
import { newRunId, statePaths } from '../../src/state/paths.js';
import { StateIndex } from '../../src/state/index-db.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await repo.cleanup();
});

describe('waiting for a person', () => {
  it('is not spent from the minutes budget', async () => {
    await repo.addLoop(
      'slowpoke',
      `---
name: slowpoke
agent: { provider: scripted }
approve: ["run:touch *"]
budget: { iterations: 1, minutes: 10 }
---
Work.
`,
      `turns:
  - when: { step: work, contains: "iteration 1 of" }
    tool_calls:
      - { name: run, input: { command: touch approved.txt } }
      - { name: run, input: { command: ls } }
`,
    );
    const loaded = await loadLoop(repo.dir, 'slowpoke');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const def = loaded.definition;
    const worktrees = await Worktrees.open(repo.dir);
    const paths = statePaths(worktrees.repoRoot);
    const index = await StateIndex.open(paths.index);
    const runId = newRunId();
    const gate = ApprovalGate.forDefinition(def, runId, true);
    const control = new RunControl();
    let clock = 1_000_000;
    const events: LoopEvent[] = [];
    const result = await executeRun({
      definition: def,
      runId,
      trigger: 'test',
      attended: true,
      approvals: gate,
      createProvider: () =>
        createProvider({
          provider: 'scripted',
          model: def.model,
          loopDir: def.dir,
          script: def.agent.script,
          env: {},
        }),
      createGraders: () => [],
      worktrees,
      paths,
      index,
      control,
      now: () => clock,
      onEvent: (event) => {
        events.push(event);
        if (event.type !== 'approval.requested') return;
        // The person takes an hour to answer: longer than the whole minutes budget.
        clock += 60 * 60_000;
        setImmediate(() => gate.answer(event.approvalId, true, ''));
      },
    });
    expect(result.budget?.cap).not.toBe('minutes');
    // Both calls ran: the one approved after the hour, and the next one, which a spent budget would stop.
    const results = events.filter((e) => e.type === 'tool.result');
    expect(results.map((e) => e.type === 'tool.result' && e.ok)).toEqual([true, true]);
  });
});
