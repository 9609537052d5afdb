/** Runs the supervisor screen full-screen until the person quits. */
import { render } from 'ink';
import type { SupervisorPort } from '../core/control.js';
import type { ProposalsPort } from '../core/proposals.js';
import { editInEditor } from './editor.js';
import { OpeningPort } from './opening-port.js';
import type { SpendHistoryPort } from './spend-history.js';
import { App } from './App.js';
import { paneSlices } from './panes/registry.js';
import type { ReviewPort } from './review-port.js';
import { createStore } from './store.js';
import { diffStdout } from './diff-stdout.js';
import { installRowCache } from './row-cache.js';

const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

export interface TuiOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Ink shows stray console output above the frame (default true); a test runner's console cannot be patched. */
  patchConsole?: boolean;
  review?: ReviewPort;
  proposals?: ProposalsPort;
  spendHistory?: SpendHistoryPort;
  /**
   * Rewrite only the lines that changed (default true), through frame-diff.ts over Ink's full
   * redraw (Ink's own incremental mode lands each frame one row low in a real terminal).
   */
  incrementalRendering?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** Closes the screen from outside (the engine failed to open behind the first frame). */
  signal?: AbortSignal;
}

/**
 * The alternate screen keeps the person's scrollback intact and lets a resize redraw cleanly
 * (Ink 6.8 has no alternate-screen option of its own). Resolves once the user has quit.
 */
export async function runTui(port: SupervisorPort, options: TuiOptions = {}): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const diffed = options.incrementalRendering === false ? undefined : diffStdout(stdout);
  const store = createStore(port, {
    slices: paneSlices(),
    ...(port instanceof OpeningPort && !port.isOpen ? { opening: true } : {}),
  });
  // Ink redraws every row of every frame; rows that did not change are kept instead.
  await installRowCache();
  stdout.write(ENTER_ALTERNATE_SCREEN);
  // The bell and notifications go straight to the terminal: they are not part of a frame.
  const notify = (bytes: string): void => {
    stdout.write(bytes);
  };
  const stdin = options.stdin ?? process.stdin;
  const env = options.env ?? process.env;
  // Set once render() has returned: the editor redraws the screen through it afterwards.
  let redraw = (): void => undefined;
  const edit = (text: string, name: string): Promise<string | undefined> =>
    editInEditor(
      {
        stdout,
        stdin,
        env,
        hold: (on) => diffed?.hold(on),
        redraw: () => redraw(),
      },
      text,
      name,
    );
  // Ctrl+C goes through the keymap (app.quit), so running loops are stopped before exit.
  const instance = render(
    <App
      store={store}
      port={port}
      notify={notify}
      env={env}
      edit={edit}
      {...(options.review === undefined ? {} : { review: options.review })}
      {...(options.proposals === undefined ? {} : { proposals: options.proposals })}
      {...(options.spendHistory === undefined ? {} : { spendHistory: options.spendHistory })}
    />,
    {
      stdout: diffed?.stream ?? stdout,
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      exitOnCtrlC: false,
      patchConsole: options.patchConsole ?? true,
      incrementalRendering: false,
    },
  );
  redraw = () => {
    instance.clear();
    diffed?.differ.reset();
  };
  const onResize = (): void => {
    // A reflowed old frame would otherwise stay behind the new one.
    instance.clear();
    stdout.write(CLEAR_SCREEN);
    diffed?.differ.reset();
  };
  stdout.on('resize', onResize);
  const close = (): void => instance.unmount();
  options.signal?.addEventListener('abort', close, { once: true });
  if (options.signal?.aborted === true) close();
  try {
    await instance.waitUntilExit();
  } finally {
    options.signal?.removeEventListener('abort', close);
    stdout.off('resize', onResize);
    store.dispose();
    stdout.write(LEAVE_ALTERNATE_SCREEN);
  }
}
