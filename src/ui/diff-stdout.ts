/**
 * The terminal as Ink sees it: the real stdout, with each full frame turned into the lines that
 * changed (frame-diff.ts). Ink reads the size, isTTY, the resize event and the writable state from
 * it and writes to it; all but `write` are the real stream's, forwarded one by one (a prototype
 * trick would let EventEmitter bookkeeping land on the wrapper and lose listeners).
 */
import { FrameDiffer } from './frame-diff.js';

export interface DiffStdout {
  /** What to hand Ink's render() as stdout. */
  stream: NodeJS.WriteStream;
  differ: FrameDiffer;
  /** While held (an editor has the terminal) frames are dropped; the screen redraws whole after. */
  hold(on: boolean): void;
}

type Listener = (...args: unknown[]) => void;

export function diffStdout(target: NodeJS.WriteStream): DiffStdout {
  const differ = new FrameDiffer();
  let held = false;
  const wrapper = {
    get columns() {
      return target.columns;
    },
    get rows() {
      return target.rows;
    },
    get isTTY() {
      return target.isTTY;
    },
    get destroyed() {
      return target.destroyed;
    },
    get writable() {
      return target.writable;
    },
    get writableEnded() {
      return target.writableEnded;
    },
    get writableLength() {
      return target.writableLength;
    },
    get _writableState(): unknown {
      return (target as unknown as { _writableState?: unknown })._writableState;
    },
    write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      if (held) {
        const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        done?.();
        return true;
      }
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const out = differ.transform(text);
      differ.bytes += Buffer.byteLength(out);
      // write(chunk, cb) and write(chunk, encoding, cb): Ink waits on the callback at exit.
      return (target.write as (c: string, ...r: unknown[]) => boolean).call(target, out, ...rest);
    },
    on(event: string, listener: Listener) {
      target.on(event, listener);
      return wrapper;
    },
    addListener(event: string, listener: Listener) {
      target.addListener(event, listener);
      return wrapper;
    },
    once(event: string, listener: Listener) {
      target.once(event, listener);
      return wrapper;
    },
    off(event: string, listener: Listener) {
      target.off(event, listener);
      return wrapper;
    },
    removeListener(event: string, listener: Listener) {
      target.removeListener(event, listener);
      return wrapper;
    },
    listenerCount(event: string) {
      return target.listenerCount(event);
    },
    emit(event: string, ...args: unknown[]) {
      return target.emit(event, ...args);
    },
  };
  // Ink types its option as a WriteStream; it uses only the members forwarded above.
  return {
    stream: wrapper as unknown as NodeJS.WriteStream,
    differ,
    hold(on) {
      held = on;
      if (on) differ.reset();
    },
  };
}
