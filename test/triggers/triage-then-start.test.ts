/**
 * `triageThenStart`, the entry point every trigger starts through, with a stand-in job context: a
 * loop without triage starts plainly; an event the overlap rule would drop anyway spends no triage
 * call; a run triage lets through carries the reason in its context; the scripted model triages too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command, CommandReply, SupervisorSnapshot } from '../../src/core/control.js';
import type { JobContext } from '../../src/core/jobs.js';
import type { LoopEventBody } from '../../src/core/events.js';
import { loadLoop } from '../../src/core/definition/load.js';
import type { LoopDefinition } from '../../src/core/definition/schema.js';
import { statePaths } from '../../src/state/paths.js';
import { triageThenStart } from '../../src/triggers/triage.js';
import { fireEvent } from '../../src/triggers/fire.js';
import type { TriggerContext } from '../../src/core/trigger-context.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;

beforeEach(async () => {
  repo = await makeRepo();
});
afterEach(async () => {
  await repo.cleanup();
});

interface Stub {
  ctx: JobContext;
  sent: Command[];
  emitted: LoopEventBody[];
}

function stub(snapshot: Partial<SupervisorSnapshot> = {}): Stub {
  const sent: Command[] = [];
  const emitted: LoopEventBody[] = [];
  const full: SupervisorSnapshot = {
    loops: [],
    needs: [],
    runs: [],
    approvals: [],
    queue: [],
    pendingInstructions: [],
    running: 0,
    limit: 4,
    inFlight: 0,
    seq: 0,
    ...snapshot,
  };
  const send = (command: Command): CommandReply => {
    sent.push(command);
    const busy = full.runs.some((r) => r.loop === command.loop);
    return busy
      ? {
          id: 'c1',
          type: 'start',
          loop: command.loop,
          ok: false,
          status: 'refused',
          reason: `dropped: ${command.loop} is running (overlap: drop)`,
        }
      : {
          id: 'c1',
          type: 'start',
          loop: command.loop,
          ok: true,
          status: 'started',
          reason: 'started run r1',
          run: 'r1',
        };
  };
  const ctx: JobContext = {
    repoRoot: repo.dir,
    paths: statePaths(repo.dir),
    env: {},
    port: { loops: () => [], send, subscribe: () => () => undefined, snapshot: () => full },
    send,
    subscribe: () => () => undefined,
    definitions: () => [],
    emit: (_source, _loop, body) => emitted.push(body),
    drainQueue: () => undefined,
    signal: new AbortController().signal,
    reportError: (e) => {
      throw e;
    },
  };
  return { ctx, sent, emitted };
}

async function loop(
  name: string,
  trigger: string,
  script = 'turns:\n  - text: Done.\n',
): Promise<LoopDefinition> {
  await repo.addLoop(
    name,
    `---\nname: ${name}\nagent: { provider: scripted }\n${trigger}\n---\nDo it.\n`,
    script,
  );
  const loaded = await loadLoop(repo.dir, name);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.definition;
}

const context: TriggerContext = { kind: 'webhook', detail: 'webhook push', at: '2026-12-02T04:00:00.000Z' };

const never = (): Promise<never> => Promise.reject(new Error('triage must not be called'));

describe('triageThenStart', () => {
  it('starts a loop without triage at once, with its overlap rule, and says so in trigger.fired', async () => {
    const def = await loop('plain', 'trigger: { webhook: true, overlap: drop }');
    const { ctx, sent, emitted } = stub();
    const start = await triageThenStart(ctx, def, context, { triage: { createProvider: never } });
    expect(start).toMatchObject({ status: 'started' });
    expect(sent).toEqual([
      expect.objectContaining({ type: 'start', loop: 'plain', overlap: 'drop', context }),
    ]);
    expect(emitted).toEqual([
      expect.objectContaining({ type: 'trigger.fired', status: 'started', target: 'r1' }),
    ]);
  });

  it('spends no triage call on an event the overlap rule drops anyway', async () => {
    const def = await loop('busy', 'trigger: { webhook: true, triage: "always", overlap: drop }');
    const running = {
      loop: 'busy',
      run: 'r0',
      trigger: 'manual',
      startedAt: '',
      iteration: 1,
      status: 'running' as const,
    };
    const { ctx, emitted } = stub({ runs: [running] });
    const start = await triageThenStart(ctx, def, context, { triage: { createProvider: never } });
    expect(start.status).toBe('skipped');
    expect(start.reason).toContain('dropped');
    expect(emitted.map((e) => e.type)).toEqual(['trigger.fired']);
  });

  it('lets a scripted triage decide, and puts its reason in the run’s context', async () => {
    const def = await loop(
      'scripted',
      'trigger: { webhook: true, triage: "only pushes" }',
      [
        'turns:',
        '  - when: { step: triage }',
        '    repeat: true',
        '    tool_calls:',
        '      - { name: submit_triage, input: { run: true, reason: "a push" } }',
        '',
      ].join('\n'),
    );
    const { ctx, sent, emitted } = stub();
    const start = await triageThenStart(ctx, def, context);
    expect(start.status).toBe('started');
    expect(sent[0]).toMatchObject({ context: { ...context, triage: { reason: 'a push' } } });
    expect(emitted.map((e) => e.type)).toEqual(['triage.decided', 'trigger.fired']);
    expect(emitted[0]).toMatchObject({ decision: 'run', reason: 'a push', model: 'scripted' });
  });
});

describe('fireEvent (cron and watch)', () => {
  it('sends a cron event through the loop’s triage, which can skip it, and starts an untriaged loop at once', async () => {
    const triaged = await loop(
      'nightly',
      'trigger: { cron: "0 3 * * *", triage: "only when src/ changed" }',
      [
        'turns:',
        '  - when: { step: triage }',
        '    repeat: true',
        '    tool_calls:',
        '      - { name: submit_triage, input: { run: false, reason: "nothing in src/ changed" } }',
        '',
      ].join('\n'),
    );
    const plain = await loop('hourly', 'trigger: { cron: "0 * * * *" }');
    const { ctx, sent, emitted } = stub();
    const withDefs: JobContext = { ...ctx, definitions: () => [triaged, plain] };
    const cron: TriggerContext = { kind: 'cron', detail: 'cron 0 3 * * *', at: '2026-12-02T03:00:00.000Z' };

    await fireEvent(withDefs, 'nightly', cron, { overlap: 'queue', label: 'cron' });
    expect(sent).toEqual([]);
    expect(emitted.map((e) => e.type)).toEqual(['triage.decided', 'trigger.fired']);
    expect(emitted[1]).toMatchObject({
      trigger: 'cron',
      status: 'skipped',
      reason: 'triage: nothing in src/ changed',
    });

    await fireEvent(withDefs, 'hourly', cron, { overlap: 'queue', label: 'cron' });
    expect(sent).toEqual([
      expect.objectContaining({ type: 'start', loop: 'hourly', trigger: 'cron', context: cron }),
    ]);
    expect(emitted.at(-1)).toMatchObject({ type: 'trigger.fired', status: 'started' });
  });
});
