/** The one-line text input behind `:` and `!`: a pure edit step, so the App keeps one key dispatcher. */
import type { Key } from 'ink';

export type LineEdit = { kind: 'edit'; text: string } | { kind: 'submit'; text: string } | { kind: 'cancel' };

export function editLine(text: string, input: string, key: Key): LineEdit {
  if (key.return) return { kind: 'submit', text };
  if (key.escape) return { kind: 'cancel' };
  // Ink 6 reports the usual Backspace (0x7f) as `delete`; both erase the last character.
  if (key.backspace || key.delete) return { kind: 'edit', text: [...text].slice(0, -1).join('') };
  if (key.ctrl && input === 'u') return { kind: 'edit', text: '' };
  if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow) return { kind: 'edit', text };
  // A paste arrives as one string: keep it on one line and drop control characters.
  // eslint-disable-next-line no-control-regex
  const typed = input.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
  return { kind: 'edit', text: text + typed };
}
