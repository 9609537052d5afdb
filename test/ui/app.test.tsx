import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../src/ui/App.js';
import { BINDINGS } from '../../src/ui/keymap.js';
import { createStore } from '../../src/ui/store.js';
import {
  ended,
  FakePort,
  loopInfo,
  modelResponse,
  runEvents,
  started,
  toolCall,
  usage,
} from './fake-port.js';

const ARROW_UP = '\u001B[A';
const ARROW_DOWN = '\u001B[B';

function setup() {
  const port = new FakePort([
    loopInfo('fix-tests'),
    loopInfo('bench'),
    loopInfo('broken', { problem: 'LOOP.md:3 budget.iterations: expected a positive number' }),
  ]);
  const store = createStore(port, { flushMs: 5 });
  const onExit = vi.fn();
  const app = render(<App store={store} port={port} onExit={onExit} />);
  const frame = (): string => app.lastFrame() ?? '';
  /** The loops pane row of one loop. */
  const row = (name: string): string =>
    frame()
      .split('\n')
      .find((line) => line.includes(` ${name} `)) ?? '';
  return { port, store, onExit, ...app, frame, row };
}

afterEach(() => {
  cleanup();
});

describe('App', () => {
  it('renders a row per loop with its status, and the problem of an invalid loop', async () => {
    const { port, frame, row } = setup();
    await vi.waitFor(() => expect(row('fix-tests')).toContain('idle'));
    expect(row('broken')).toContain('invalid');
    expect(row('broken')).toContain('LOOP.md:3 budget.iterations');

    const e = runEvents('bench', 'r1');
    port.emit(
      e(started({ iterations: 20 })),
      e({ type: 'iteration.started' }),
      e(toolCall('read_file', { path: 'a.ts' })),
    );
    await vi.waitFor(() => expect(row('bench')).toMatch(/running\s+1\/20/));
    expect(row('bench')).toContain('tools 1/200');
    expect(frame()).toContain('1 running · 0 verified · 0 failed');
  });

  it('shows dollars once a loop has spent, and unpriced rather than $0', async () => {
    const { port, row } = setup();
    await vi.waitFor(() => expect(row('fix-tests')).toContain('idle'));
    expect(row('fix-tests')).not.toContain('$');
    const a = runEvents('fix-tests', 'r1');
    const b = runEvents('bench', 'r2');
    port.emit(
      a(started()),
      a(modelResponse('priced', usage(0), 0.042)),
      b(started()),
      b(modelResponse('unknown model', usage(0), null)),
    );
    await vi.waitFor(() => expect(row('fix-tests')).toContain('$0.042'));
    expect(row('bench')).toContain('unpriced');
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

  it('sends start for the selected loop on enter, and refuses an invalid loop', async () => {
    const { port, stdin, frame, row } = setup();
    stdin.write('j');
    await vi.waitFor(() => expect(row('bench')).toContain('›'));
    stdin.write('\r');
    await vi.waitFor(() => expect(port.sent).toEqual([{ type: 'start', loop: 'bench' }]));

    stdin.write('j');
    await vi.waitFor(() => expect(row('broken')).toContain('›'));
    stdin.write('\r');
    await vi.waitFor(() => expect(frame()).toContain('broken cannot start: LOOP.md:3'));
    expect(port.sent).toHaveLength(1);
  });

  it('sends stop on s and shows stopping until the run ends', async () => {
    const { port, stdin, row } = setup();
    const e = runEvents('fix-tests', 'r1');
    port.emit(e(started()));
    await vi.waitFor(() => expect(row('fix-tests')).toContain('running'));
    stdin.write('s');
    await vi.waitFor(() => expect(row('fix-tests')).toContain('stopping'));
    expect(port.sent).toEqual([{ type: 'stop', loop: 'fix-tests' }]);
    port.emit(e(ended('stopped', 'stopped by a person')));
    await vi.waitFor(() => expect(row('fix-tests')).toContain('stopped by a person'));
    expect(row('fix-tests')).toMatch(/stopped\s/);
  });

  it('pauses a running loop on p and resumes a paused one', async () => {
    const { port, stdin, row } = setup();
    const e = runEvents('fix-tests', 'r1');
    port.emit(e(started()));
    await vi.waitFor(() => expect(row('fix-tests')).toContain('running'));
    stdin.write('p');
    await vi.waitFor(() => expect(port.sent).toEqual([{ type: 'pause', loop: 'fix-tests' }]));
    port.emit(e({ type: 'run.paused' }));
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

  it('cancels the instruction input on esc without sending', async () => {
    const { port, stdin, frame } = setup();
    stdin.write(':');
    await vi.waitFor(() => expect(frame()).toContain(': instruct fix-tests ›'));
    stdin.write('never mind');
    await vi.waitFor(() => expect(frame()).toContain('never mind'));
    stdin.write('\u001B');
    await vi.waitFor(() => expect(frame()).not.toContain('never mind'));
    // Keys are bindings again: s on an idle loop gives a notice, not text.
    stdin.write('s');
    await vi.waitFor(() => expect(frame()).toContain('fix-tests is not running'));
    expect(port.sent).toEqual([]);
  });

  it('shows the trace of the selected loop', async () => {
    const { port, stdin, frame, row } = setup();
    const e = runEvents('bench', 'r1');
    port.emit(
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
    const { port, stdin, frame, row } = setup();
    const e = runEvents('fix-tests', 'r1');
    port.emit(e(started()), ...Array.from({ length: 30 }, (_, i) => e(toolCall('read_file', { n: i }))));
    await vi.waitFor(() => expect(frame()).toContain('{"n":29}'));
    stdin.write('\t');
    stdin.write('k');
    await vi.waitFor(() => expect(frame()).toContain('(↓ 1 newer)'));
    expect(frame()).not.toContain('{"n":29}');
    expect(row('fix-tests')).toContain('›');
  });

  it('shows help listing every binding on ?, and hides it again', async () => {
    const { stdin, frame } = setup();
    stdin.write('?');
    await vi.waitFor(() => expect(frame()).toContain('(? or esc to close)'));
    for (const binding of BINDINGS) {
      const keys = binding.keys.join(' / ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(frame(), binding.id).toMatch(new RegExp(`│\\s*${keys}\\s+${binding.label}\\s+\\S`));
    }
    stdin.write('?');
    await vi.waitFor(() => expect(frame()).not.toContain('(? or esc to close)'));
  });

  it('on q stops running loops and exits only after their run.ended arrives', async () => {
    const { port, stdin, frame, onExit, row } = setup();
    const e = runEvents('bench', 'r1');
    port.emit(e(started()));
    await vi.waitFor(() => expect(row('bench')).toContain('running'));
    stdin.write('q');
    await vi.waitFor(() => expect(frame()).toContain('stopping 1 loop…'));
    expect(port.sent).toEqual([{ type: 'stop', loop: 'bench' }]);
    expect(onExit).not.toHaveBeenCalled();

    port.emit(e({ type: 'iteration.started' }));
    await vi.waitFor(() => expect(row('bench')).toMatch(/stopping\s+1\//));
    expect(onExit).not.toHaveBeenCalled();

    port.emit(e(ended('stopped', 'stopped by a person')));
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledTimes(1));
  });

  it('on q exits at once when nothing runs', async () => {
    const { port, stdin, onExit } = setup();
    stdin.write('q');
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledTimes(1));
    expect(port.sent).toEqual([]);
  });
});
