/** Cutting text to a size while saying so, so a reader knows something is missing and where. */

/** `text` within `max` characters: the head is kept, and most of the rest is marked as cut. */
export function clipHead(text: string, max: number): string {
  if (text.length <= max) return text;
  const mark = (cut: number): string => `\n[… ${cut} more chars cut]`;
  const keep = Math.max(0, max - mark(text.length).length);
  return text.slice(0, keep).trimEnd() + mark(text.length - keep);
}

/** `text` within `max` characters: its start and its end are kept, the middle is marked as cut. */
export function clipMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const mark = (cut: number): string => `\n[… ${cut} chars cut …]\n`;
  const room = Math.max(0, max - mark(text.length).length);
  const head = Math.ceil((room * 2) / 3);
  const tail = room - head;
  const cut = text.length - head - tail;
  return text.slice(0, head) + mark(cut) + (tail > 0 ? text.slice(text.length - tail) : '');
}

/**
 * Shares `total` characters among parts fairly: a part that needs less than an equal share keeps all of
 * it, and what it leaves goes to the others. Returns each part's allowance, in order.
 */
export function fairShares(sizes: readonly number[], total: number): number[] {
  const allowance = sizes.map(() => 0);
  let left = total;
  let open = sizes.map((_, i) => i);
  while (open.length > 0) {
    const share = Math.floor(left / open.length);
    const small = open.filter((i) => (sizes[i] ?? 0) <= share);
    if (small.length === 0) {
      for (const i of open) allowance[i] = share;
      break;
    }
    for (const i of small) {
      allowance[i] = sizes[i] ?? 0;
      left -= sizes[i] ?? 0;
    }
    open = open.filter((i) => !small.includes(i));
  }
  return allowance;
}
