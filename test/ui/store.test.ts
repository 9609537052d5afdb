import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStore } from '../../src/ui/store.js';
import { FakePort, loopInfo, runEvents, started, toolCall } from './fake-port.js';

/** A timer the test fires by hand: no waiting, and the number of scheduled flushes is visible. */
function manualTimer() {
  const scheduled: { fn: () => void; ms: number; cleared: boolean }[] = [];
  return {
    scheduled,
    setTimer: (fn: () => void, ms: number) => {
      const entry = { fn, ms, cleared: false };
      scheduled.push(entry);
      return entry;
    },
    clearTimer: (timer: unknown) => {
      const entry = scheduled.find((candidate) => candidate === timer);
      if (entry !== undefined) entry.cleared = true;
    },
    fire: () => {
      for (const entry of scheduled.splice(0)) if (!entry.cleared) entry.fn();
    },
  };
}

describe('createStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('seeds the loop list from the port', () => {
    const store = createStore(new FakePort([loopInfo('alpha'), loopInfo('beta')]));
    expect(store.getState().loops.map((view) => view.info.name)).toEqual(['alpha', 'beta']);
    store.dispose();
  });

  it('commits 20 events that arrive within one flush as one commit', () => {
    const port = new FakePort([loopInfo('alpha')]);
    const timer = manualTimer();
    const store = createStore(port, { flushMs: 100, ...timer });
    const commits: number[] = [];
    store.subscribe(() => commits.push(store.getState().version));

    const e = runEvents('alpha', 'r1');
    port.emit(e(started()));
    for (let i = 0; i < 19; i += 1) port.emit(e(toolCall('read_file', { i })));

    expect(commits).toEqual([]);
    expect(store.getState().loops[0]?.status).toBe('idle');
    expect(timer.scheduled).toHaveLength(1);
    expect(timer.scheduled[0]?.ms).toBe(100);

    timer.fire();
    expect(commits).toEqual([1]);
    expect(store.getState().loops[0]).toMatchObject({ status: 'running', toolCalls: 19 });
    store.dispose();
  });

  it('does not commit a flush that changes nothing', () => {
    const port = new FakePort([loopInfo('alpha')]);
    const timer = manualTimer();
    const store = createStore(port, timer);
    const e = runEvents('alpha', 'r1');
    port.emit(e(started()));
    timer.fire();
    const onChange = vi.fn();
    store.subscribe(onChange);
    port.emit(e({ type: 'model.delta', text: 'a' }), e({ type: 'model.delta', text: 'b' }));
    timer.fire();
    expect(onChange).not.toHaveBeenCalled();
    store.dispose();
  });

  it('flushes at most once per flushMs with the default timer', () => {
    vi.useFakeTimers();
    const port = new FakePort([loopInfo('alpha')]);
    const store = createStore(port);
    const onChange = vi.fn();
    store.subscribe(onChange);
    const e = runEvents('alpha', 'r1');
    port.emit(e(started()));
    vi.advanceTimersByTime(50);
    port.emit(e(toolCall('run', {})));
    vi.advanceTimersByTime(49);
    expect(onChange).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(store.getState().loops[0]?.toolCalls).toBe(1);
    store.dispose();
  });

  it('commits a selection at once and clamps it', () => {
    const store = createStore(new FakePort([loopInfo('alpha'), loopInfo('beta')]), manualTimer());
    const onChange = vi.fn();
    store.subscribe(onChange);
    store.select(1);
    expect(store.getState().selected).toBe(1);
    store.select(7);
    expect(store.getState().selected).toBe(1);
    expect(onChange).toHaveBeenCalledTimes(1);
    store.dispose();
  });

  it('applies buffered events before marking a loop stopping', () => {
    const port = new FakePort([loopInfo('alpha')]);
    const timer = manualTimer();
    const store = createStore(port, timer);
    port.emit(runEvents('alpha', 'r1')(started()));
    store.markStopping('alpha');
    expect(store.getState().loops[0]?.status).toBe('stopping');
    expect(timer.scheduled[0]?.cleared).toBe(true);
    store.dispose();
  });

  it('unsubscribes from the port and drops pending work on dispose', () => {
    const port = new FakePort([loopInfo('alpha')]);
    const timer = manualTimer();
    const store = createStore(port, timer);
    port.emit(runEvents('alpha', 'r1')(started()));
    expect(port.listenerCount).toBe(1);
    store.dispose();
    expect(port.listenerCount).toBe(0);
    expect(timer.scheduled[0]?.cleared).toBe(true);
    expect(store.getState().loops[0]?.status).toBe('idle');
  });
});
