import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { ErrorTracker, errorSignature, normaliseMessage } from '../../src/core/verify/error-tracker.js';
import { tempDir } from '../tools/temp-dir.js';

let dir: string;
let cleanup: () => Promise<void>;
let file: string;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('errors'));
  file = path.join(dir, 'state', 'loop', 'errors.json');
});
afterEach(() => cleanup());

function event(body: LoopEventBody, iteration = 1): LoopEvent {
  return { loop: 'loop', run: 'r', iteration, time: '2026-01-01T00:00:00Z', seq: 1, span: 's', ...body };
}

describe('error signatures', () => {
  it('strip what varies between occurrences: numbers, paths, hex ids', () => {
    expect(normaliseMessage('ENOENT: /tmp/wt-123/src/a.js at line 42 (commit 3f9a2b7c1d)')).toBe(
      'enoent: <path> at line <n> (commit <hex>)',
    );
    expect(errorSignature('tool_failure', 'no such file /a/b/c.js, took 12ms')).toBe(
      errorSignature('tool_failure', 'no such file /x/y.js, took 340ms'),
    );
    expect(errorSignature('tool_failure', 'no such file')).not.toBe(
      errorSignature('grader_failure', 'no such file'),
    );
    expect(errorSignature('tool_failure', 'no such file')).toMatch(/^tool_failure:[0-9a-f]{12}$/);
  });
});

describe('ErrorTracker', () => {
  it('classifies events: tool failures, malformed calls, provider errors, regressions', async () => {
    const tracker = await ErrorTracker.open(file);
    const fromTool = tracker.observe(
      event({
        type: 'tool.result',
        callId: 'c',
        name: 'read_file',
        ok: false,
        output: 'no such file: a.js',
        durationMs: 1,
      }),
    );
    expect(fromTool).toMatchObject([
      { class: 'tool_failure', repeated: false, count: 1, message: 'read_file: no such file: a.js' },
    ]);
    const malformed = tracker.observe(
      event({
        type: 'tool.result',
        callId: 'c',
        name: 'write_file',
        ok: false,
        output: 'unknown tool "write_file"',
        durationMs: 1,
      }),
    );
    expect(malformed).toMatchObject([{ class: 'malformed_output' }]);
    expect(
      tracker.observe(event({ type: 'run.error', kind: 'provider.rate_limit', message: '429' })),
    ).toMatchObject([{ class: 'provider_error' }]);
    expect(
      tracker.observe(event({ type: 'run.error', kind: 'provider.malformed', message: 'bad json' })),
    ).toMatchObject([{ class: 'malformed_output' }]);
    expect(
      tracker.observe(event({ type: 'grader.regression', grader: 'unit', passedAt: 1, diff: '+x' }, 2)),
    ).toMatchObject([
      { class: 'grader_regression', message: 'unit regressed: it passed on iteration 1 and fails now' },
    ]);
    expect(
      tracker.observe(
        event({ type: 'tool.result', callId: 'c', name: 'run', ok: true, output: '', durationMs: 1 }),
      ),
    ).toEqual([]);
    expect(tracker.observe(event({ type: 'iteration.started' }))).toEqual([]);
  });

  it('marks a signature seen before as repeated, in this run and in later runs', async () => {
    const first = await ErrorTracker.open(file);
    const failing = { name: 'unit', kind: 'command', passed: false, durationMs: 3 };
    const a = first.recordGrader(
      { ...failing, feedback: '$ npm test\ntests: 1 passed, 1 failed\nnot ok - adds\nexpected 3 to be 4' },
      false,
      1,
    );
    expect(a).toMatchObject({ class: 'grader_failure', repeated: false, count: 1 });
    // The same failure with other counts and numbers is the same error.
    const b = first.recordGrader(
      {
        ...failing,
        feedback:
          '$ npm test\ntests: 1 passed, 1 failed (last iteration: 1 passed, 1 failed; no change)\nnot ok - adds\nexpected 5 to be 6',
      },
      false,
      2,
    );
    expect(b).toMatchObject({ signature: a.signature, repeated: true, count: 2 });
    const c = first.recordGrader({ ...failing, feedback: 'not ok - subtracts' }, false, 2);
    expect(c.repeated).toBe(false);
    expect(first.repeatedNote(1)).toBe('');
    expect(first.repeatedNote(2)).toBe('repeated errors: grader_failure');
    await first.flush();

    const second = await ErrorTracker.open(file);
    const again = second.recordGrader(
      { ...failing, feedback: 'not ok - adds\nexpected 1 to be 2' },
      false,
      1,
    );
    expect(again).toMatchObject({ signature: a.signature, repeated: true, count: 3 });
    second.recordGrader({ ...failing, feedback: 'not ok - adds\nexpected 1 to be 2' }, false, 1);
    expect(second.repeatedNote(1)).toBe('repeated errors: grader_failure ×2');
    await second.flush();
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      signatures: Record<string, { count: number }>;
    };
    expect(saved.signatures[a.signature]?.count).toBe(4);
  });

  it('merges with what another run wrote meanwhile', async () => {
    const one = await ErrorTracker.open(file);
    const two = await ErrorTracker.open(file);
    const x = one.record('tool_failure', 'same thing', 1);
    two.record('tool_failure', 'same thing', 1);
    await Promise.all([one.flush(), two.flush()]);
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      signatures: Record<string, { count: number }>;
    };
    expect(saved.signatures[x.signature]?.count).toBe(2);
  });

  it("keeps a holdout grader's findings out of the message, and a malformed verdict is malformed output", async () => {
    const tracker = await ErrorTracker.open(file);
    const holdout = tracker.recordGrader(
      { name: 'secret', kind: 'command', passed: false, feedback: 'HOLDOUT-FINDING', durationMs: 1 },
      true,
      1,
    );
    expect(holdout.message).toBe('holdout grader "secret" failed');
    await tracker.flush();
    expect(await readFile(file, 'utf8')).not.toContain('HOLDOUT-FINDING');
    const judge = tracker.recordGrader(
      {
        name: 'judge',
        kind: 'rubric',
        passed: false,
        feedback: '',
        error: 'verify[0]: malformed verdict after one retry: x',
        durationMs: 1,
      },
      false,
      1,
    );
    expect(judge.class).toBe('malformed_output');
  });

  it('starts afresh from a damaged errors.json', async () => {
    const first = await ErrorTracker.open(file);
    first.record('tool_failure', 'boom', 1);
    await first.flush();
    await writeFile(file, '{"version": 1, "signatures": ');
    const tracker = await ErrorTracker.open(file);
    expect(tracker.record('tool_failure', 'boom', 1).repeated).toBe(false);
  });
});
