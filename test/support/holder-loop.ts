/**
 * A loop whose run stays in flight until a person answers its approval (`approve: ["run:*"]` and one
 * `run` call on its first iteration), and a way to wait for one event: what the supervisor, queue,
 * jobs and daemon tests need to hold a run open without a timer.
 */
import type { LoopEvent } from '../../src/core/events.js';

export const HOLDER = `---
name: holder
agent: { provider: scripted }
verify:
  - command: "true"
approve: ["run:*"]
budget: { iterations: 1 }
---
Hold.
`;

export const HOLDER_SCRIPT = `turns:
  - when: { step: work, contains: "iteration 1 of" }
    tool_calls:
      - { name: run, input: { command: ls } }
`;

/** The first event from now on that passes `test`. */
export function nextEvent(
  source: { subscribe(listener: (event: LoopEvent) => void): () => void },
  test: (event: LoopEvent) => boolean,
): Promise<LoopEvent> {
  return new Promise((resolve) => {
    const off = source.subscribe((event) => {
      if (!test(event)) return;
      off();
      resolve(event);
    });
  });
}
