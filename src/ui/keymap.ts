/**
 * Every key binding of the supervisor screen, in one `as const` table. The ids form a union, each
 * binding has a scope (global, an overlay, or one pane), and the dispatcher asks the open overlay,
 * then the focused pane, then the global bindings. The help overlay and the footer hints are
 * generated from this table, so they cannot drift.
 */
import type { Key } from 'ink';

export type PaneId = 'loops' | 'trace' | 'spend' | 'stalls' | 'review' | 'proposals';
export type OverlayKind = 'approval' | 'confirm' | 'help';
export type Scope = 'global' | PaneId | { overlay: OverlayKind };

export interface BindingSpec {
  readonly id: string;
  readonly scope: Scope;
  /** As shown to people: a character ("k"), an arrow ("↑"), "enter", "tab", "esc" or "ctrl+<char>". */
  readonly keys: readonly string[];
  readonly label: string;
  readonly description: string;
}

export const BINDINGS = [
  {
    id: 'loop.prev',
    scope: 'global',
    keys: ['↑', 'k'],
    label: 'prev',
    description: 'select the previous loop',
  },
  { id: 'loop.next', scope: 'global', keys: ['↓', 'j'], label: 'next', description: 'select the next loop' },
  {
    id: 'loop.start',
    scope: 'global',
    keys: ['enter'],
    label: 'start',
    description: 'start the selected loop now',
  },
  {
    id: 'loop.stop',
    scope: 'global',
    keys: ['s'],
    label: 'stop',
    description: 'stop the selected loop gracefully (outcome: stopped)',
  },
  {
    id: 'loop.pause',
    scope: 'global',
    keys: ['p'],
    label: 'pause',
    description: 'pause or resume the selected loop at the next safe point',
  },
  {
    id: 'loop.instruct',
    scope: 'global',
    keys: [':'],
    label: 'instruct',
    description: "queue an instruction for the selected loop's next iteration",
  },
  {
    id: 'loop.interrupt',
    scope: 'global',
    keys: ['!'],
    label: 'interrupt',
    description: 'interrupt the selected loop and give it an instruction now',
  },
  {
    id: 'approval.show',
    scope: 'global',
    keys: ['a'],
    label: 'approvals',
    description: 'show the pending approval (it opens by itself when one arrives)',
  },
  {
    id: 'run.merge',
    scope: 'global',
    keys: ['m'],
    label: 'merge',
    description: "merge the selected loop's finished run into the branch it started from",
  },
  {
    id: 'run.discard',
    scope: 'global',
    keys: ['x'],
    label: 'discard',
    description: "discard the selected loop's finished run: branch and worktree (asks first)",
  },
  {
    id: 'proposals.open',
    scope: 'global',
    keys: ['r'],
    label: 'proposals',
    description: "review hill-climbing's proposals: focus the proposals pane (y accept, n reject, e edit)",
  },
  {
    id: 'pane.next',
    scope: 'global',
    keys: ['tab'],
    label: 'pane',
    description: 'focus the next pane (loops, trace, spend, stalls, review, proposals)',
  },
  { id: 'help.toggle', scope: 'global', keys: ['?'], label: 'help', description: 'show or hide this help' },
  {
    id: 'app.quit',
    scope: 'global',
    keys: ['q', 'ctrl+c'],
    label: 'quit',
    description: 'stop running loops gracefully, then quit (again: quit at once)',
  },
  {
    id: 'trace.up',
    scope: 'trace',
    keys: ['↑', 'k'],
    label: 'scroll up',
    description: 'trace focused: scroll to older lines',
  },
  {
    id: 'trace.down',
    scope: 'trace',
    keys: ['↓', 'j'],
    label: 'scroll down',
    description: 'trace focused: scroll to newer lines',
  },
  {
    id: 'review.up',
    scope: 'review',
    keys: ['↑', 'k'],
    label: 'scroll up',
    description: 'review focused: scroll the diff up',
  },
  {
    id: 'review.down',
    scope: 'review',
    keys: ['↓', 'j'],
    label: 'scroll down',
    description: 'review focused: scroll the diff down',
  },
  {
    id: 'review.nextFile',
    scope: 'review',
    keys: [']'],
    label: 'next file',
    description: 'review focused: jump to the next file of the diff',
  },
  {
    id: 'review.prevFile',
    scope: 'review',
    keys: ['['],
    label: 'prev file',
    description: 'review focused: jump to the previous file of the diff',
  },
  {
    id: 'loops.improve',
    scope: 'loops',
    keys: ['h'],
    label: 'improve',
    description: "loops focused: ask hill-climbing for a proposal to improve the selected loop's harness",
  },
  {
    id: 'proposal.prev',
    scope: 'proposals',
    keys: ['↑', 'k'],
    label: 'prev',
    description: 'proposals focused: select the previous proposal',
  },
  {
    id: 'proposal.next',
    scope: 'proposals',
    keys: ['↓', 'j'],
    label: 'next',
    description: 'proposals focused: select the next proposal',
  },
  {
    id: 'proposal.accept',
    scope: 'proposals',
    keys: ['y'],
    label: 'accept',
    description: 'proposals focused: accept the proposal (applies its diff and commits it)',
  },
  {
    id: 'proposal.reject',
    scope: 'proposals',
    keys: ['n'],
    label: 'reject',
    description: 'proposals focused: reject it, with a reason the analyst is told next time',
  },
  {
    id: 'proposal.edit',
    scope: 'proposals',
    keys: ['e'],
    label: 'edit',
    description: 'proposals focused: edit the diff in $EDITOR, then accept the edited diff',
  },
  {
    id: 'approval.approve',
    scope: { overlay: 'approval' },
    keys: ['a'],
    label: 'approve',
    description: 'approval shown: let this tool call run',
  },
  {
    id: 'approval.deny',
    scope: { overlay: 'approval' },
    keys: ['d'],
    label: 'deny',
    description: 'approval shown: refuse it, with a reason the model is told',
  },
  {
    id: 'approval.hide',
    scope: { overlay: 'approval' },
    keys: ['esc'],
    label: 'later',
    description: 'approval shown: hide it (a brings it back; the call keeps waiting)',
  },
  {
    id: 'confirm.yes',
    scope: { overlay: 'confirm' },
    keys: ['y'],
    label: 'yes',
    description: 'question shown: do it',
  },
  {
    id: 'confirm.no',
    scope: { overlay: 'confirm' },
    keys: ['n', 'esc'],
    label: 'no',
    description: 'question shown: leave everything as it is',
  },
  {
    id: 'help.close',
    scope: { overlay: 'help' },
    keys: ['?', 'esc'],
    label: 'close',
    description: 'help shown: close it',
  },
] as const satisfies readonly BindingSpec[];

export type Binding = (typeof BINDINGS)[number];
export type BindingId = Binding['id'];

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

function sameScope(a: Scope, b: Scope): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.overlay === b.overlay;
}

/** The binding of one scope that this key press means, if any. */
export function matchIn(scope: Scope, input: string, key: Key): Binding | undefined {
  return BINDINGS.find(
    (binding) =>
      sameScope(binding.scope, scope) && binding.keys.some((token) => keyMatches(token, input, key)),
  );
}

/**
 * The dispatch order: an open overlay takes every key (an unbound key does nothing), else the
 * focused pane's own binding, else the global one.
 */
export function dispatchKey(
  context: { overlay?: OverlayKind; pane: PaneId },
  input: string,
  key: Key,
): Binding | undefined {
  if (context.overlay !== undefined) return matchIn({ overlay: context.overlay }, input, key);
  return matchIn(context.pane, input, key) ?? matchIn('global', input, key);
}

/** Kept for callers that only know the global table (e.g. headless hints). */
export function matchBinding(input: string, key: Key): Binding | undefined {
  return matchIn('global', input, key);
}

export function bindingById(id: BindingId): Binding {
  const found = BINDINGS.find((binding) => binding.id === id);
  if (found === undefined) throw new Error(`no binding ${id}`);
  return found;
}

export function scopeLabel(scope: Scope): string {
  return typeof scope === 'string' ? scope : scope.overlay;
}
