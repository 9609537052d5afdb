/**
 * Streamed text in fewer, larger pieces: a model sends a delta per token, but the trace and the screen
 * only need to see text as it arrives, so pieces are held for at most `maxDelayMs` or until `maxChars`
 * have built up. The owner calls flush() before anything that must come after the text.
 */
export interface TextCoalescerOptions {
  maxChars?: number;
  maxDelayMs?: number;
}

export class TextCoalescer {
  private buffer = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly maxChars: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly emit: (text: string) => void,
    opts: TextCoalescerOptions = {},
  ) {
    this.maxChars = opts.maxChars ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 100;
  }

  push(text: string): void {
    if (text === '') return;
    this.buffer += text;
    if (this.buffer.length >= this.maxChars) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
      // A pending piece of text is no reason to keep the process alive.
      this.timer.unref();
    }
  }

  /** Emits what is held now, if anything. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    this.emit(text);
  }
}
