/** The first frame before the engine has opened, then the screen filling in once it is handed over. */
import { cleanup, render } from 'ink-testing-library';
import { afterEach, expect, it, vi } from 'vitest';
import { App } from '../../src/ui/App.js';
import { OpeningPort } from '../../src/ui/opening-port.js';
import { paneSlices } from '../../src/ui/panes/registry.js';
import { createStore } from '../../src/ui/store.js';
import { FakePort, loopInfo, runEvents, started } from './fake-port.js';

afterEach(() => {
  cleanup();
});

it('draws an opening frame, refuses starts meanwhile, then shows the loops and their events', async () => {
  const port = new OpeningPort();
  const store = createStore(port, { flushMs: 5, slices: paneSlices(), opening: true });
  const app = render(<App store={store} port={port} />);
  await vi.waitFor(() => expect(app.lastFrame()).toContain('opening the loops…'));
  expect(app.lastFrame()).toContain('loops opening…');
  expect(port.send({ type: 'start', loop: 'fix-tests' })).toMatchObject({ ok: false, status: 'refused' });

  const engine = new FakePort([loopInfo('fix-tests'), loopInfo('bench')]);
  port.attach(engine);
  await vi.waitFor(() => expect(app.lastFrame()).toMatch(/fix-tests\s+idle/));
  expect(app.lastFrame()).not.toContain('opening');
  // Opening is not a reload: no notice about it.
  expect(app.lastFrame()).not.toContain('reloaded');
  expect(engine.listenerCount).toBe(1);

  const e = runEvents('bench', 'r1');
  engine.emit(e(started()));
  await vi.waitFor(() => expect(app.lastFrame()).toMatch(/bench\s+running/));
  app.stdin.write('\r');
  await vi.waitFor(() => expect(engine.sent).toEqual([{ type: 'start', loop: 'fix-tests' }]));

  store.dispose();
  expect(engine.listenerCount).toBe(0);
});
