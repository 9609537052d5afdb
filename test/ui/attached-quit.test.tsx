/** A screen attached to another process's supervisor (the daemon): quitting it stops nothing. */
import { cleanup } from 'ink-testing-library';
import { afterEach, expect, it, vi } from 'vitest';
import { loopInfo, runEvents, started } from './fake-port.js';
import { renderApp } from './render-app.js';

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
