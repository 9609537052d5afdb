/** The one-line text input behind `:`, `!` and a denial's reason: a pure edit step. */
import type { Key } from 'ink';

export type LineEdit = { kind: 'edit'; text: string } | { kind: 'submit'; text: string } | { kind: 'cancel' };

/** A paste arrives as one string: keep it on one line and drop control characters. */
function typed(input: string): string {
  // eslint-disable-next-line no-control-regex
  return input.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
}

export function editLine(text: string, input: string, key: Key): LineEdit {
  // Text ending in Enter in one chunk (a paste, tmux send-keys "text" Enter) is typed, then sent.
  if (input.length > 1 && /[\r\n]$/.test(input) && !key.ctrl && !key.meta) {
    return { kind: 'submit', text: text + typed(input.replace(/[\r\n]+$/, '')) };
  }
  if (key.return) return { kind: 'submit', text };
  if (key.escape) return { kind: 'cancel' };
  // Ink 6 reports the usual Backspace (0x7f) as `delete`; both erase the last character.
  if (key.backspace || key.delete) return { kind: 'edit', text: [...text].slice(0, -1).join('') };
  if (key.ctrl && input === 'u') return { kind: 'edit', text: '' };
  if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow) return { kind: 'edit', text };
  return { kind: 'edit', text: text + typed(input) };
}
