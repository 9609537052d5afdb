/** A screen attached to another process's supervisor (the daemon): quitting it stops nothing. */
import { cleanup } from 'ink-testing-library';
import { afterEach, expect, it, vi } from 'vitest';
import { loopInfo, runEvents, started } from './fake-port.js';
import { renderApp } from './render-app.js';
import { newCommandId } from '../../src/core/control.js';
import type { LoopEvent } from '../../src/core/events.js';

afterEach(() => {
  cleanup();
});

it('on q leaves the owner’s runs running and exits at once', async () => {
  const { port, stdin, onExit, row, emit } = renderApp({ infos: [loopInfo('bench')] });
  Object.defineProperty(port, 'remote', { value: { pid: 4242, owner: 'daemon' } });
  emit(runEvents('bench', 'r1')(started()));
  await vi.waitFor(() => expect(row('bench')).toContain('running'));
  stdin.write('q');
  await vi.waitFor(() => expect(onExit).toHaveBeenCalledTimes(1));
  expect(port.sent).toEqual([]);
});

it('shows the owner’s answer to a command sent from an attached screen, not only that it was sent', async () => {
  const app = renderApp({ infos: [loopInfo('bench')] });
  const { port, frame, emit } = app;
  Object.defineProperty(port, 'remote', { value: { pid: 4242, owner: 'daemon' } });
  emit(runEvents('bench', 'r1')(started()));
  await vi.waitFor(() => expect(app.row('bench')).toContain('running'));
  const replied = (seq: number, id: string, ok: boolean, reason: string): LoopEvent => ({
    source: 'supervisor',
    loop: 'bench',
    run: 'supervisor',
    iteration: 0,
    time: new Date().toISOString(),
    seq,
    span: 'supervisor',
    type: 'command.replied',
    id,
    command: 'start',
    ok,
    status: ok ? 'done' : 'refused',
    reason,
  });
  // A reply to another process's command is not this screen's business; one to its own is shown.
  emit(replied(7, 'cother-1', true, 'stopping 1 run(s)'));
  emit(replied(8, newCommandId(), false, 'bench is already running (concurrency 1)'));
  await vi.waitFor(() => expect(frame()).toContain('bench: refused: bench is already running'));
  expect(app.frames.some((drawn) => drawn.includes('stopping 1 run'))).toBe(false);
});
