/** Stamps events with the fields every event carries (loop, run, iteration, time, seq, span). */
import type { LoopEvent, LoopEventBody } from '../events.js';

export interface Emitter {
  /** Emits one event under the current span (or the one given). */
  emit(body: LoopEventBody, span?: { span: string; parentSpan?: string }): LoopEvent;
  setIteration(n: number): void;
  readonly runSpan: string;
  iterationSpan(): string;
  /** A fresh child span id under the current iteration, for one model or tool call. */
  childSpan(prefix: string): { span: string; parentSpan: string };
}

export function createEmitter(
  loop: string,
  run: string,
  sink: (event: LoopEvent) => void,
  clock: () => Date = () => new Date(),
): Emitter {
  let seq = 0;
  let iteration = 0;
  let child = 0;
  const runSpan = `run:${run}`;
  const iterationSpan = (): string => (iteration === 0 ? runSpan : `${runSpan}/i${iteration}`);
  return {
    runSpan,
    iterationSpan,
    setIteration(n) {
      iteration = n;
    },
    childSpan(prefix) {
      child += 1;
      return { span: `${iterationSpan()}/${prefix}${child}`, parentSpan: iterationSpan() };
    },
    emit(body, span) {
      seq += 1;
      const where = span ?? {
        span: iterationSpan(),
        ...(iteration === 0 ? {} : { parentSpan: runSpan }),
      };
      const event = {
        loop,
        run,
        iteration,
        time: clock().toISOString(),
        seq,
        ...where,
        ...body,
      };
      sink(event);
      return event;
    },
  };
}
