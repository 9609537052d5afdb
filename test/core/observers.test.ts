import { describe, expect, it } from 'vitest';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { createEmitter } from '../../src/core/run/emitter.js';
import { ObserverList } from '../../src/core/run/observers.js';

describe('ObserverList', () => {
  it('lets every observer see an event before the events they answer with are emitted', () => {
    const seenBy: Record<string, string[]> = { a: [], b: [] };
    const list = new ObserverList((body) => emitter.emit(body));
    const emitter = createEmitter('loop', 'r1', list.dispatch);
    list
      .add({
        observe(event): LoopEventBody[] | void {
          seenBy.a!.push(event.type);
          if (event.type === 'tool.call') return [{ type: 'run.error', kind: 'test', message: 'answer' }];
        },
      })
      .add({
        observe(event) {
          seenBy.b!.push(event.type);
        },
      });
    emitter.emit({ type: 'tool.call', callId: 'c1', name: 'run', input: {} });
    // b saw the tool call before the answer, and the answer came with the next seq.
    expect(seenBy.b).toEqual(['tool.call', 'run.error']);
    expect(seenBy.a).toEqual(['tool.call', 'run.error']);
  });

  it('emits an answer to an answer after it, in order, without recursion', () => {
    const order: Array<[string, number]> = [];
    const list = new ObserverList((body) => emitter.emit(body));
    const emitter = createEmitter('loop', 'r1', list.dispatch);
    list.add({
      observe(event: LoopEvent): LoopEventBody[] | void {
        order.push([event.type === 'run.error' ? event.message : event.type, event.seq]);
        if (event.type === 'iteration.started') return [{ type: 'run.error', kind: 'k', message: 'first' }];
        if (event.type === 'run.error' && event.message === 'first')
          return [{ type: 'run.error', kind: 'k', message: 'second' }];
      },
    });
    emitter.emit({ type: 'iteration.started' });
    expect(order).toEqual([
      ['iteration.started', 1],
      ['first', 2],
      ['second', 3],
    ]);
  });

  it('flushes and closes every observer', async () => {
    const calls: string[] = [];
    const list = new ObserverList(() => undefined);
    list
      .add({
        observe: () => undefined,
        flush: async () => void calls.push('flush a'),
        close: async () => void calls.push('close a'),
      })
      .add({ observe: () => undefined, flush: async () => void calls.push('flush b') });
    await list.flush();
    await list.close();
    expect(calls).toEqual(['flush a', 'flush b', 'close a']);
  });

  it('flushes the observers at the same time, and throws the first failure once all have finished', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const done: string[] = [];
    const list = new ObserverList(() => undefined);
    list
      // Waits for the second observer's flush: one after the other, this would never finish.
      .add({ observe: () => undefined, flush: async () => released.then(() => void done.push('a')) })
      .add({ observe: () => undefined, flush: async () => void (release(), done.push('b')) });
    await list.flush();
    expect(done).toEqual(['b', 'a']);

    const failing = new ObserverList(() => undefined);
    failing
      .add({
        observe: () => undefined,
        flush: () => Promise.reject(new Error('disk full')),
      })
      .add({
        observe: () => undefined,
        flush: async () => {
          await new Promise((resolve) => setImmediate(resolve));
          done.push('slow');
        },
      });
    await expect(failing.flush()).rejects.toThrow('disk full');
    expect(done).toContain('slow');
  });
});
