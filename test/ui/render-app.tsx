/**
 * Renders the screen (or one pane of it) through ink-testing-library at a given terminal size,
 * with helpers to read rows and to check that no frame was ever taller than the terminal.
 */
import { render } from 'ink-testing-library';
import { expect, vi } from 'vitest';
import type { LoopInfo } from '../../src/core/control.js';
import type { LoopEvent } from '../../src/core/events.js';
import { App } from '../../src/ui/App.js';
import { paneSlices, PANES } from '../../src/ui/panes/registry.js';
import type { PaneSpec } from '../../src/ui/panes/types.js';
import type { ProposalsPort } from '../../src/core/proposals.js';
import type { ReviewPort } from '../../src/ui/review-port.js';
import type { SpendHistoryPort } from '../../src/ui/spend-history.js';
import { createStore } from '../../src/ui/store.js';
import { FakePort, loopInfo } from './fake-port.js';

export interface RenderOptions {
  infos?: LoopInfo[];
  rows?: number;
  panes?: readonly PaneSpec[];
  review?: ReviewPort;
  proposals?: ProposalsPort;
  spendHistory?: SpendHistoryPort;
  edit?: (text: string, name: string) => Promise<string | undefined>;
  columns?: number;
  env?: Record<string, string>;
}

export function renderApp(options: RenderOptions = {}) {
  const port = new FakePort(options.infos ?? [loopInfo('fix-tests'), loopInfo('bench')]);
  const panes = options.panes ?? PANES;
  const store = createStore(port, { flushMs: 5, slices: paneSlices(panes) });
  const onExit = vi.fn();
  const rang: string[] = [];
  const app = render(
    <App
      store={store}
      port={port}
      panes={panes}
      onExit={onExit}
      notify={(bytes) => rang.push(bytes)}
      env={options.env ?? {}}
      {...(options.review === undefined ? {} : { review: options.review })}
      {...(options.proposals === undefined ? {} : { proposals: options.proposals })}
      {...(options.edit === undefined ? {} : { edit: options.edit })}
      {...(options.spendHistory === undefined ? {} : { spendHistory: options.spendHistory })}
    />,
  );
  const rows = options.rows ?? 24;
  // The first frame is drawn inside render(), at the library's default size; frames from the resize on count.
  if (options.columns !== undefined)
    Object.defineProperty(app.stdout, 'columns', { value: options.columns, configurable: true });
  if (options.rows !== undefined) {
    Object.defineProperty(app.stdout, 'rows', { value: options.rows, configurable: true });
    app.stdout.emit('resize');
  }
  const frame = (): string => app.lastFrame() ?? '';
  /** The loops pane row of one loop: selection mark, needs-you mark, then the name. */
  const row = (name: string): string =>
    frame()
      .split('\n')
      .find((line) => line.startsWith('│ ') && [...line].slice(6).join('').startsWith(`${name} `)) ?? '';
  /**
   * Every frame drawn so far fits the terminal: never taller than its rows. The frames drawn inside
   * render() and Ink's redraw on the resize are at the library's default size: the check starts at
   * the first frame React drew for the size under test.
   */
  const expectFramesFit = (): void => {
    const lines = app.frames.map((drawn) => drawn.split('\n').length);
    const start = options.rows === undefined ? 0 : lines.findIndex((n) => n !== lines[0]);
    expect(start).toBeGreaterThanOrEqual(0);
    for (const n of lines.slice(start)) expect(n).toBeLessThanOrEqual(rows);
  };
  const emit = (...events: LoopEvent[]): void => port.emit(...events);
  return { ...app, port, store, onExit, rang, frame, row, emit, expectFramesFit, rows };
}

/** One pane alone on the screen, fed some events: the per-pane test helper. */
export function renderPane(
  pane: PaneSpec,
  events: LoopEvent[] = [],
  options: Omit<RenderOptions, 'panes'> = {},
) {
  const app = renderApp({ ...options, panes: [pane] });
  app.emit(...events);
  return app;
}
