/**
 * Every key binding of the supervisor screen, in one table. The dispatcher in App.tsx acts on the
 * ids; the help overlay and the footer hints are generated from this table, so they cannot drift.
 */
import type { Key } from 'ink';

export interface Binding {
  id: string;
  /** As shown to people: a character ("k"), an arrow ("↑"), "enter", "tab", "esc" or "ctrl+<char>". */
  keys: string[];
  label: string;
  description: string;
}

export const BINDINGS: readonly Binding[] = [
  {
    id: 'loop.prev',
    keys: ['↑', 'k'],
    label: 'prev',
    description: 'select the previous loop (trace pane focused: scroll up)',
  },
  {
    id: 'loop.next',
    keys: ['↓', 'j'],
    label: 'next',
    description: 'select the next loop (trace pane focused: scroll down)',
  },
  { id: 'loop.start', keys: ['enter'], label: 'start', description: 'start the selected loop now' },
  {
    id: 'loop.stop',
    keys: ['s'],
    label: 'stop',
    description: 'stop the selected loop gracefully (outcome: stopped)',
  },
  {
    id: 'loop.pause',
    keys: ['p'],
    label: 'pause',
    description: 'pause or resume the selected loop at the next safe point',
  },
  {
    id: 'loop.instruct',
    keys: [':'],
    label: 'instruct',
    description: "queue an instruction for the selected loop's next iteration",
  },
  {
    id: 'loop.interrupt',
    keys: ['!'],
    label: 'interrupt',
    description: 'interrupt the selected loop and give it an instruction now',
  },
  { id: 'pane.next', keys: ['tab'], label: 'pane', description: 'focus the next pane (loops, trace)' },
  { id: 'help.toggle', keys: ['?'], label: 'help', description: 'show or hide this help' },
  {
    id: 'app.quit',
    keys: ['q', 'ctrl+c'],
    label: 'quit',
    description: 'stop running loops gracefully, then quit (again: quit at once)',
  },
];

const NAMED_KEYS: Record<string, (key: Key) => boolean> = {
  '↑': (key) => key.upArrow,
  '↓': (key) => key.downArrow,
  '←': (key) => key.leftArrow,
  '→': (key) => key.rightArrow,
  enter: (key) => key.return,
  tab: (key) => key.tab && !key.shift,
  esc: (key) => key.escape,
};

export function keyMatches(token: string, input: string, key: Key): boolean {
  const named = NAMED_KEYS[token];
  if (named !== undefined) return named(key);
  if (token.startsWith('ctrl+')) return key.ctrl && input === token.slice('ctrl+'.length);
  return input === token && !key.ctrl && !key.meta;
}

export function matchBinding(input: string, key: Key): Binding | undefined {
  return BINDINGS.find((binding) => binding.keys.some((token) => keyMatches(token, input, key)));
}

export function bindingById(id: string): Binding | undefined {
  return BINDINGS.find((binding) => binding.id === id);
}
