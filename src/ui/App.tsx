/**
 * The supervisor screen: header, loops pane, trace pane, footer, and the one key dispatcher.
 * It reads the store; the only way back to the engine is the SupervisorPort.
 */
import { Box, useApp, useInput, useStdin, type Key } from 'ink';
import { useEffect, useRef, useState, type JSX } from 'react';
import type { SupervisorPort } from '../core/control.js';
import { Footer, type Prompt } from './components/Footer.js';
import { Header } from './components/Header.js';
import { HelpOverlay } from './components/HelpOverlay.js';
import { LoopsPane } from './components/LoopsPane.js';
import { TracePane } from './components/TracePane.js';
import { matchBinding } from './keymap.js';
import { computeLayout } from './layout.js';
import { editLine } from './line-input.js';
import { isActive } from './state.js';
import type { UiStore } from './store.js';
import { StoreContext, useUiSelector, useUiStore } from './use-store.js';
import { useTerminalSize } from './use-terminal-size.js';

export interface AppProps {
  store: UiStore;
  port: SupervisorPort;
  /** Called once, just before the app exits. */
  onExit?: () => void;
}

export function App(props: AppProps): JSX.Element {
  return (
    <StoreContext.Provider value={props.store}>
      <Screen port={props.port} onExit={props.onExit} />
    </StoreContext.Provider>
  );
}

type Pane = 'loops' | 'trace';

interface ScreenState {
  pane: Pane;
  help: boolean;
  prompt?: Prompt;
  notice?: string;
  /** q was pressed: stop what runs, then exit. */
  quitting: boolean;
  /** q was pressed twice: exit without waiting. */
  leaveNow: boolean;
  /** Trace lines scrolled up from the newest. */
  scroll: number;
}

const INITIAL: ScreenState = { pane: 'loops', help: false, quitting: false, leaveNow: false, scroll: 0 };

function Screen(props: { port: SupervisorPort; onExit: (() => void) | undefined }): JSX.Element {
  const { port, onExit } = props;
  const store = useUiStore();
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize();
  const loopCount = useUiSelector((state) => state.loops.length);
  const layout = computeLayout(rows, loopCount);
  const active = useUiSelector((state) => state.loops.filter((view) => isActive(view.status)).length);
  // A string, so the selector returns a stable value; it lists the loops a stop can still reach.
  const stoppable = useUiSelector((state) =>
    state.loops
      .filter((view) => view.status === 'running' || view.status === 'paused')
      .map((view) => view.info.name)
      .join('\n'),
  );

  // Mirrored in a ref: two keys can arrive before React re-renders, and the second must see the first.
  const screenRef = useRef(INITIAL);
  const [screen, setScreen] = useState(INITIAL);
  const change = (patch: Partial<ScreenState>): void => {
    screenRef.current = { ...screenRef.current, ...patch };
    setScreen(screenRef.current);
  };

  const exited = useRef(false);
  useEffect(() => {
    if (!screen.quitting || exited.current) return;
    if (active === 0 || screen.leaveNow) {
      exited.current = true;
      onExit?.();
      exit();
      return;
    }
    // Also reaches a run a trigger started after q was pressed.
    for (const loop of stoppable.split('\n').filter((name) => name !== '')) {
      port.send({ type: 'stop', loop });
      store.markStopping(loop);
    }
  }, [screen.quitting, screen.leaveNow, active, stoppable, port, store, exit, onExit]);

  const editPrompt = (prompt: Prompt, input: string, key: Key): void => {
    const edit = editLine(prompt.text, input, key);
    if (edit.kind === 'edit') return change({ prompt: { ...prompt, text: edit.text } });
    const text = edit.kind === 'submit' ? edit.text.trim() : '';
    if (text === '') return change({ prompt: undefined });
    port.send({ type: 'instruct', loop: prompt.loop, text, now: prompt.now });
    change({
      prompt: undefined,
      notice: prompt.now ? `interrupting ${prompt.loop}: ${text}` : `queued for ${prompt.loop}: ${text}`,
    });
  };

  const act = (id: string): void => {
    const current = screenRef.current;
    const state = store.getState();
    const view = state.loops[state.selected];
    const name = view?.info.name ?? '';
    switch (id) {
      case 'loop.prev':
      case 'loop.next': {
        const step = id === 'loop.prev' ? -1 : 1;
        if (current.pane === 'trace') {
          const maxScroll = Math.max(0, (view?.trace.length ?? 0) - layout.traceLines);
          return change({ scroll: Math.max(0, Math.min(maxScroll, current.scroll - step)) });
        }
        store.select(state.selected + step);
        return change({ scroll: 0 });
      }
      case 'loop.start':
        if (view === undefined) return change({ notice: 'no loop to start' });
        if (view.info.problem !== undefined) {
          return change({ notice: `${name} cannot start: ${view.info.problem}` });
        }
        {
          // Every start gets an answer on screen: started, queued behind the limit, or refused and why.
          const reply = port.send({ type: 'start', loop: name });
          return change({
            notice: reply.ok ? `${name}: ${reply.reason}` : `${name} not started: ${reply.reason}`,
          });
        }
      case 'loop.stop':
        if (view === undefined || (view.status !== 'running' && view.status !== 'paused')) {
          return change({ notice: `${name || 'nothing'} is not running` });
        }
        port.send({ type: 'stop', loop: name });
        store.markStopping(name);
        return;
      case 'loop.pause':
        if (view?.status === 'running') {
          port.send({ type: 'pause', loop: name });
          return;
        }
        if (view?.status === 'paused') {
          port.send({ type: 'resume', loop: name });
          return;
        }
        return change({ notice: `${name || 'nothing'} is not running` });
      case 'loop.instruct':
      case 'loop.interrupt':
        if (view === undefined) return change({ notice: 'no loop to instruct' });
        return change({ prompt: { now: id === 'loop.interrupt', loop: name, text: '' } });
      case 'pane.next':
        return change({ pane: current.pane === 'loops' ? 'trace' : 'loops' });
      case 'help.toggle':
        return change({ help: !current.help });
      case 'app.quit':
        return change(current.quitting ? { leaveNow: true } : { quitting: true, help: false });
    }
  };

  // The one dispatcher: the prompt takes every key while open; otherwise keys go through the keymap.
  const onKey = (input: string, key: Key): void => {
    const current = screenRef.current;
    if (current.prompt !== undefined) return editPrompt(current.prompt, input, key);
    const binding = matchBinding(input, key);
    if (current.notice !== undefined) change({ notice: undefined });
    if (current.help && key.escape) return change({ help: false });
    // While help is open only help and quit act, so nothing changes out of sight.
    if (
      binding === undefined ||
      (current.help && binding.id !== 'help.toggle' && binding.id !== 'app.quit')
    ) {
      return;
    }
    act(binding.id);
  };
  useInput(onKey, { isActive: isRawModeSupported === true });

  const notice =
    screen.quitting && active > 0
      ? `stopping ${active} ${active === 1 ? 'loop' : 'loops'}… (q again to quit at once)`
      : screen.notice;

  return (
    <Box flexDirection="column" width={columns} height={layout.height}>
      <Header />
      {screen.help ? (
        <HelpOverlay height={layout.loopsHeight + layout.traceHeight} />
      ) : (
        <>
          <LoopsPane rows={layout.loopRows} focused={screen.pane === 'loops'} />
          <TracePane
            height={layout.traceHeight}
            lines={layout.traceLines}
            scroll={screen.scroll}
            focused={screen.pane === 'trace'}
          />
        </>
      )}
      <Footer prompt={screen.prompt} notice={notice} />
    </Box>
  );
}
