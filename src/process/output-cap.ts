/**
 * Output for a model is capped keeping its head and its tail: the head says what ran, the tail
 * says how it ended (the error, the summary line), and the middle is what can be lost.
 */

export function cutMarker(cut: number): string {
  return `\n[… ${cut} chars cut …]\n`;
}

/** `text` if it fits in `cap` characters, else its head and tail around a marker. */
export function capText(text: string, cap: number): { text: string; truncated: boolean } {
  if (text.length <= cap) return { text, truncated: false };
  const head = Math.ceil(cap / 2);
  const tail = Math.floor(cap / 2);
  const cut = text.length - head - tail;
  return { text: text.slice(0, head) + cutMarker(cut) + text.slice(text.length - tail), truncated: true };
}

/**
 * Collects streamed output in bounded memory: the first half of the cap verbatim, then a rolling
 * tail, so a command printing gigabytes costs no more than `cap` characters to keep.
 */
export class OutputCollector {
  private head = '';
  private tail = '';
  private total = 0;
  private readonly headCap: number;
  private readonly tailCap: number;

  constructor(readonly cap: number) {
    this.headCap = Math.ceil(cap / 2);
    this.tailCap = Math.floor(cap / 2);
  }

  push(chunk: string): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.head.length < this.headCap) {
      const room = this.headCap - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    if (rest.length === 0) return;
    this.tail += rest;
    // Trim lazily (at twice the cap) so a stream of small chunks is not quadratic.
    if (this.tail.length > this.tailCap * 2) this.tail = this.tail.slice(this.tail.length - this.tailCap);
  }

  get truncated(): boolean {
    return this.total > this.cap;
  }

  text(): string {
    if (!this.truncated) return this.head + this.tail;
    const tail = this.tail.slice(Math.max(0, this.tail.length - this.tailCap));
    return this.head + cutMarker(this.total - this.head.length - tail.length) + tail;
  }
}
