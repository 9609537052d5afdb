/** Small text helpers shared by every place that shows events to a person. */

/** The first non-empty line, trimmed. */
export function firstLine(text: string): string {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '') return trimmed;
  }
  return '';
}

const MAX_JSON = 120;

/** A value on one line, cut short: enough to recognise a tool call. */
export function compactJson(value: unknown, max = MAX_JSON): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Cyclic or BigInt input: still show something rather than lose the line.
    text = String(value);
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
