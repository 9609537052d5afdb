import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BINDINGS } from '../../src/ui/keymap.js';
import {
  approvalRequested,
  approvalResolved,
  ended,
  loopInfo,
  modelResponse,
  runEvents,
  started,
  supervisorEvents,
  toolCall,
  usage,
} from './fake-port.js';
import { renderApp } from './render-app.js';

const ARROW_UP = '\u001B[A';
const ARROW_DOWN = '\u001B[B';

function setup(rows?: number) {
  return renderApp({
    infos: [
      loopInfo('fix-tests'),
      loopInfo('bench'),
      loopInfo('broken', { problem: 'LOOP.md:3 budget.iterations: expected a positive number' }),
    ],
    ...(rows === undefined ? {} : { rows }),
  });
}

afterEach(() => {
  cleanup();
});

describe('App', () => {
  it('renders a row per loop with its status, and the problem of an invalid loop', async () => {
    const app = setup();
    const { row, frame } = app;
    await vi.waitFor(() => expect(row('fix-tests')).toContain('idle'));
    expect(row('broken')).toContain('invalid');
    expect(row('broken')).toContain('LOOP.md:3 budget.iterations');

    const e = runEvents('bench', 'r1');
    app.emit(
      e(started({ iterations: 20 })),
      e({ type: 'iteration.started' }),
      e(toolCall('read_file', { path: 'a.ts' })),
    );
    await vi.waitFor(() => expect(row('bench')).toMatch(/running\s+manual\s+1\/20/));
    expect(row('bench')).toContain('tools ░░░░ 1/200');
    expect(frame()).toContain('1 running · 0 verified · 0 failed');
    app.expectFramesFit();
  });

  it('shows dollars spent, and unpriced rather than $0', async () => {
    const app = setup();
    await vi.waitFor(() => expect(app.row('fix-tests')).toContain('idle'));
    const a = runEvents('fix-tests', 'r1');
    const b = runEvents('bench', 'r2');
    app.emit(
      a(started()),
      a(modelResponse('priced', usage(0), 0.042)),
      b(started()),
      b(modelResponse('unknown model', usage(0), null)),
    );
    await vi.waitFor(() => expect(app.row('fix-tests')).toContain('$0.042'));
    expect(app.row('bench')).toContain('unpriced');
  });

  it('moves the selection with j/k and the arrow keys', async () => {
    const { stdin, row } = setup();
    await vi.waitFor(() => expect(row('fix-tests')).toContain('›'));
    stdin.write('j');
    await vi.waitFor(() => expect(row('bench')).toContain('›'));
    expect(row('fix-tests')).not.toContain('›');
    stdin.write(ARROW_DOWN);
    await vi.waitFor(() => expect(row('broken')).toContain('›'));
    stdin.write('k');
    await vi.waitFor(() => expect(row('bench')).toContain('›'));
    stdin.write(ARROW_UP);
    await vi.waitFor(() => expect(row('fix-tests')).toContain('›'));
  });

  it('starts the selected loop on enter and shows the reply; an invalid loop says what is wrong', async () => {
    const app = setup();
    const { port, stdin, frame, row } = app;
    port.reply = () => ({ ok: true, status: 'queued', reason: 'waiting behind 2 runs (limit 2)' });
    stdin.write('j');
    await vi.waitFor(() => expect(row('bench')).toContain('›'));
    stdin.write('\r');
    await vi.waitFor(() => expect(port.sent).toEqual([{ type: 'start', loop: 'bench' }]));
    await vi.waitFor(() => expect(frame()).toContain('bench queued: waiting behind 2 runs (limit 2)'));

    stdin.write('j');
    await vi.waitFor(() => expect(row('broken')).toContain('›'));
    // The trace pane says what is wrong, not "press enter to start".
    expect(frame()).toContain('cannot start: LOOP.md:3 budget.iterations');
    expect(frame()).not.toContain('press enter to start');
    stdin.write('\r');
    await vi.waitFor(() => expect(frame()).toContain('broken cannot start: LOOP.md:3'));
    expect(port.sent).toHaveLength(1);
  });

  it('shows the queue of starts waiting behind the limit', async () => {
    const app = setup();
    const s = supervisorEvents();
    app.emit(
      s({
        type: 'queue.changed',
        queue: [{ loop: 'bench', trigger: 'manual', since: '2026-01-01T00:00:00Z' }],
      }),
    );
    await vi.waitFor(() =>
      expect(app.frame()).toContain('queued behind the limit on runs at once: bench (manual)'),
    );
    // A supervisor event never makes a row of its own.
    expect(app.frame()).not.toMatch(/│ [› ] [⚑ ] supervisor/);
    app.emit(s({ type: 'queue.changed', queue: [] }));
    await vi.waitFor(() => expect(app.frame()).not.toContain('queued behind the limit'));
    app.expectFramesFit();
  });

  it('does not count a paused loop as running', async () => {
    const app = setup();
    const e = runEvents('fix-tests', 'r1');
    app.emit(e(started()), e({ type: 'run.paused' }));
    await vi.waitFor(() => expect(app.frame()).toContain('0 running · 1 paused'));
  });

  it('sends stop on s and shows stopping until the run ends', async () => {
    const { port, stdin, row, emit } = setup();
    const e = runEvents('fix-tests', 'r1');
    emit(e(started()));
    await vi.waitFor(() => expect(row('fix-tests')).toContain('running'));
    stdin.write('s');
    await vi.waitFor(() => expect(row('fix-tests')).toContain('stopping'));
    expect(port.sent).toEqual([{ type: 'stop', loop: 'fix-tests' }]);
    emit(e(ended('stopped', 'stopped by a person')));
    await vi.waitFor(() => expect(row('fix-tests')).toMatch(/stopped\s/));
  });

  it('pauses a running loop on p and resumes a paused one', async () => {
    const { port, stdin, row, emit } = setup();
    const e = runEvents('fix-tests', 'r1');
    emit(e(started()));
    await vi.waitFor(() => expect(row('fix-tests')).toContain('running'));
    stdin.write('p');
    await vi.waitFor(() => expect(port.sent).toEqual([{ type: 'pause', loop: 'fix-tests' }]));
    emit(e({ type: 'run.paused' }));
    await vi.waitFor(() => expect(row('fix-tests')).toContain('paused'));
    stdin.write('p');
    await vi.waitFor(() => expect(port.sent.at(-1)).toEqual({ type: 'resume', loop: 'fix-tests' }));
  });

  it('sends an instruction typed after : on enter, and an interrupt after !', async () => {
    const { port, stdin, frame } = setup();
    stdin.write(':');
    await vi.waitFor(() => expect(frame()).toContain(': instruct fix-tests ›'));
    stdin.write('use ');
    stdin.write('vitest');
    await vi.waitFor(() => expect(frame()).toContain('use vitest'));
    stdin.write('\r');
    await vi.waitFor(() =>
      expect(port.sent).toEqual([{ type: 'instruct', loop: 'fix-tests', text: 'use vitest', now: false }]),
    );
    await vi.waitFor(() => expect(frame()).toContain('queued for fix-tests: use vitest'));

    stdin.write('!');
    await vi.waitFor(() => expect(frame()).toContain('! interrupt fix-tests now ›'));
    stdin.write('stop that');
    stdin.write('\r');
    await vi.waitFor(() =>
      expect(port.sent.at(-1)).toEqual({ type: 'instruct', loop: 'fix-tests', text: 'stop that', now: true }),
    );
  });

  it('submits text that ends in Enter in one chunk (a paste), interior newlines as spaces', async () => {
    const { port, stdin, frame } = setup();
    stdin.write(':');
    await vi.waitFor(() => expect(frame()).toContain(': instruct fix-tests ›'));
    stdin.write('first line\nsecond line\r');
    await vi.waitFor(() =>
      expect(port.sent).toEqual([
        { type: 'instruct', loop: 'fix-tests', text: 'first line second line', now: false },
      ]),
    );
    await vi.waitFor(() => expect(frame()).not.toContain(': instruct fix-tests ›'));
  });

  it('cancels the instruction input on esc without sending', async () => {
    const { port, stdin, frame } = setup();
    stdin.write(':');
    await vi.waitFor(() => expect(frame()).toContain(': instruct fix-tests ›'));
    stdin.write('never mind');
    await vi.waitFor(() => expect(frame()).toContain('never mind'));
    stdin.write('\u001B');
    await vi.waitFor(() => expect(frame()).not.toContain('never mind'));
    stdin.write('s');
    await vi.waitFor(() => expect(frame()).toContain('fix-tests is not running'));
    expect(port.sent).toEqual([]);
  });

  it('shows the trace of the selected loop', async () => {
    const { stdin, frame, row, emit } = setup();
    const e = runEvents('bench', 'r1');
    emit(
      e(started()),
      e(modelResponse('Reading the benchmark.\nthen more')),
      e(toolCall('run', { command: 'node bench.js' })),
    );
    await vi.waitFor(() => expect(row('bench')).toContain('running'));
    expect(frame()).not.toContain('Reading the benchmark.');
    stdin.write('j');
    await vi.waitFor(() => expect(frame()).toContain('trace · bench · run r1'));
    expect(frame()).toContain('Reading the benchmark.');
    expect(frame()).toContain('→ run {"command":"node bench.js"}');
  });

  it('with the trace pane focused (tab), j/k scroll the trace instead of selecting', async () => {
    const { stdin, frame, row, emit } = setup();
    const e = runEvents('fix-tests', 'r1');
    emit(e(started()), ...Array.from({ length: 30 }, (_, i) => e(toolCall('read_file', { n: i }))));
    await vi.waitFor(() => expect(frame()).toContain('{"n":29}'));
    stdin.write('\t');
    stdin.write('k');
    await vi.waitFor(() => expect(frame()).toContain('(↓ 1 newer)'));
    expect(frame()).not.toContain('{"n":29}');
    expect(row('fix-tests')).toContain('›');
    stdin.write('j');
    await vi.waitFor(() => expect(frame()).toContain('{"n":29}'));
  });

  it('shows help listing every binding on ?, and hides it again', async () => {
    const app = setup(40);
    const { stdin, frame } = app;
    stdin.write('?');
    await vi.waitFor(() => expect(frame()).toContain('(? or esc to close'));
    for (const binding of BINDINGS) {
      expect(frame(), binding.id).toContain(binding.label);
      expect(frame(), binding.id).toContain(binding.keys.join(' / '));
    }
    stdin.write('?');
    await vi.waitFor(() => expect(frame()).not.toContain('(? or esc to close'));
    app.expectFramesFit();
  });

  it('on q stops running loops and exits only after their run.ended arrives', async () => {
    const { port, stdin, frame, onExit, row, emit } = setup();
    const e = runEvents('bench', 'r1');
    emit(e(started()));
    await vi.waitFor(() => expect(row('bench')).toContain('running'));
    stdin.write('q');
    await vi.waitFor(() => expect(frame()).toContain('stopping 1 loop…'));
    await vi.waitFor(() => expect(port.sent).toEqual([{ type: 'stop', loop: 'bench' }]));
    expect(onExit).not.toHaveBeenCalled();

    emit(e({ type: 'iteration.started' }));
    await vi.waitFor(() => expect(row('bench')).toMatch(/stopping\s+manual\s+1\//));
    expect(onExit).not.toHaveBeenCalled();

    emit(e(ended('stopped', 'stopped by a person')));
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledTimes(1));
  });

  it('on q exits at once when nothing runs', async () => {
    const { port, stdin, onExit } = setup();
    stdin.write('q');
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledTimes(1));
    expect(port.sent).toEqual([]);
  });
});

describe('approvals on screen', () => {
  it('opens by itself with the call in full; a approves bound to its id', async () => {
    const app = setup();
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(approvalRequested('ap-1', 'git push --force origin main')));
    await vi.waitFor(() => expect(app.frame()).toContain('approval needed · bench · run r1'));
    expect(app.frame()).toContain('git push --force origin main');
    expect(app.frame()).toContain('rule run:git push*');
    app.stdin.write('a');
    await vi.waitFor(() =>
      expect(app.port.sent).toEqual([{ type: 'approve', loop: 'bench', run: 'r1', approvalId: 'ap-1' }]),
    );
    await vi.waitFor(() => expect(app.frame()).toContain('approved run for bench'));
    expect(app.frame()).not.toContain('approval needed');
    app.expectFramesFit();
  });

  it('d asks for a reason and sends it with the approval id; several approvals queue', async () => {
    const app = setup();
    const e = runEvents('bench', 'r1');
    const f = runEvents('fix-tests', 'r2');
    app.emit(
      e(started()),
      f(started()),
      e(approvalRequested('ap-1')),
      f(approvalRequested('ap-2', 'git push origin x')),
    );
    await vi.waitFor(() => expect(app.frame()).toContain('1 more waiting'));
    // fix-tests is listed first, so its call is the first shown.
    expect(app.frame()).toContain('approval needed · fix-tests');
    app.stdin.write('d');
    await vi.waitFor(() => expect(app.frame()).toContain('deny run for fix-tests, reason ›'));
    app.stdin.write('not on main\r');
    await vi.waitFor(() =>
      expect(app.port.sent).toEqual([
        { type: 'deny', loop: 'fix-tests', run: 'r2', approvalId: 'ap-2', reason: 'not on main' },
      ]),
    );
    app.emit(f(approvalResolved('ap-2', false)));
    // The next one opens by itself once the first is answered.
    await vi.waitFor(() => expect(app.frame()).toContain('approval needed · bench'));
    app.stdin.write('a');
    await vi.waitFor(() =>
      expect(app.port.sent.at(-1)).toMatchObject({ type: 'approve', approvalId: 'ap-1' }),
    );
  });

  it('a call answered elsewhere cannot be answered, and the key does not reach the next one', async () => {
    const app = setup();
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(approvalRequested('ap-1')), e(approvalRequested('ap-2', 'git push other')));
    await vi.waitFor(() => expect(app.frame()).toContain('approval needed · bench'));
    app.emit(e(approvalResolved('ap-1', false, 'timeout')));
    await vi.waitFor(() => expect(app.frame()).toContain('already answered'));
    app.stdin.write('a');
    await vi.waitFor(() => expect(app.frame()).toContain('that approval was already answered'));
    expect(app.port.sent).toEqual([]);
  });

  it('esc puts it off; the loop shows it needs you; a brings it back', async () => {
    const app = setup();
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(approvalRequested('ap-1')));
    await vi.waitFor(() => expect(app.frame()).toContain('approval needed'));
    app.stdin.write('\u001B');
    await vi.waitFor(() => expect(app.frame()).not.toContain('approval needed ·'));
    expect(app.row('bench')).toContain('⚑');
    expect(app.row('bench')).toContain('waiting for approval: run (run:git push*)');
    expect(app.frame()).toContain('⚑ 1 needs you');
    app.stdin.write('a');
    await vi.waitFor(() => expect(app.frame()).toContain('approval needed · bench'));
    expect(app.port.sent).toEqual([]);
  });
});

describe('needs you', () => {
  it('rings once per new reason, not for what needed a person before the screen opened', async () => {
    const app = renderApp({ infos: [loopInfo('old', { lastOutcome: 'failed' }), loopInfo('bench')] });
    await vi.waitFor(() => expect(app.row('old')).toContain('⚑'));
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(approvalRequested('ap-1')));
    await vi.waitFor(() => expect(app.rang).toHaveLength(1));
    expect(app.rang[0]).toBe('\u0007');
    app.stdin.write('\u001B');
    // Same reason while the loop goes on: no second ring.
    app.emit(e({ type: 'iteration.started' }));
    await vi.waitFor(() => expect(app.row('bench')).toMatch(/running\s+manual\s+1\//));
    expect(app.rang).toHaveLength(1);
    app.emit(e(approvalResolved('ap-1', true)), e(ended('budget', 'budget: tool_calls 200/200')));
    await vi.waitFor(() => expect(app.row('bench')).toContain('out of budget'));
    await vi.waitFor(() => expect(app.rang).toHaveLength(2));
  });

  it('sends OSC 777 wrapped for tmux where the terminal supports it', async () => {
    const app = renderApp({ env: { TERM_PROGRAM: 'WezTerm', TMUX: '/tmp/tmux-0/default,1,0' } });
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(ended('failed', 'grader crashed')));
    await vi.waitFor(() => expect(app.rang).toHaveLength(1));
    expect(app.rang[0]).toBe(
      '\u001BPtmux;\u001B\u001B]777;notify;loops;bench: failed: grader crashed\u0007\u001B\\\u0007',
    );
  });
});
