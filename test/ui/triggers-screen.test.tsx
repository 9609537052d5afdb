/** The screen parts of triggers and the fleet: next due, goal progress, waiting starts, trigger lines, notices. */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GoalProgress } from '../../src/core/control.js';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { formatDue } from '../../src/ui/format.js';
import { loopInfo, runEvents, started } from './fake-port.js';
import { renderApp } from './render-app.js';

afterEach(() => {
  cleanup();
});

function stream(source: 'trigger' | 'fleet' | 'supervisor', loop: string) {
  let seq = 0;
  return (body: LoopEventBody): LoopEvent => {
    seq += 1;
    return {
      source,
      loop,
      run: source,
      iteration: 0,
      time: '2026-01-01T00:00:00.000Z',
      seq,
      span: `${source}.${seq}`,
      ...body,
    };
  };
}

const goal = (extra: Partial<GoalProgress> = {}): GoalProgress => ({
  state: 'active',
  runs: 2,
  maxRuns: 10,
  usd: 0.4,
  maxUsd: 5,
  since: '2026-01-01T00:00:00.000Z',
  reason: '',
  ...extra,
});

describe('loops pane: triggers', () => {
  it('shows when a cron loop is next due, from its info and from schedule.next', async () => {
    const due = '2026-01-02T07:00:00.000Z';
    const app = renderApp({
      infos: [loopInfo('nightly', { trigger: 'cron', nextDue: due }), loopInfo('other')],
    });
    await vi.waitFor(() => expect(app.row('nightly')).toContain(`next ${formatDue(due)}`));
    const t = stream('trigger', 'nightly');
    const later = '2026-01-03T09:30:00.000Z';
    app.emit(t({ type: 'schedule.next', nextDue: later }));
    await vi.waitFor(() => expect(app.row('nightly')).toContain(`next ${formatDue(later)}`));
    // No schedule any more (the trigger was removed): the row stops saying when.
    app.emit(t({ type: 'schedule.next', nextDue: null }));
    await vi.waitFor(() => expect(app.row('nightly')).not.toContain('next '));
    app.expectFramesFit();
  });

  it("shows a goal's progress across runs, and says when its budget is spent", async () => {
    const app = renderApp({ infos: [loopInfo('goal-loop', { trigger: 'goal', goal: goal() })] });
    await vi.waitFor(() => expect(app.row('goal-loop')).toContain('goal active · run 2/10 · $0.400/$5.00'));
    const t = stream('trigger', 'goal-loop');
    app.emit(
      t({ type: 'goal.progress', progress: goal({ state: 'spent', runs: 10, usd: 5, reason: 'runs cap' }) }),
    );
    await vi.waitFor(() =>
      expect(app.row('goal-loop')).toContain('goal spent (runs cap) · run 10/10 · $5.00/$5.00'),
    );
  });

  it('says why starts wait, read again from the engine when the fleet changes', async () => {
    const infos = [loopInfo('a'), loopInfo('b')];
    const app = renderApp({ infos });
    await vi.waitFor(() => expect(app.row('a')).toContain('a task'));
    infos[0] = loopInfo('a', { waiting: 'fleet daily cap $10 reached' });
    const f = stream('fleet', '');
    app.emit(
      f({
        type: 'fleet.status',
        state: 'waiting',
        cap: 'daily_usd',
        used: 10,
        limit: 10,
        reason: 'daily $10 spent',
      }),
    );
    await vi.waitFor(() => expect(app.row('a')).toContain('starts wait: fleet daily cap $10 reached'));
    expect(app.frame()).toContain('fleet waiting: daily $10 spent');
    expect(app.frame()).toContain('⚑ 1 needs you');
    // Waiting on the fleet rings once.
    await vi.waitFor(() => expect(app.rang).toHaveLength(1));
    infos[0] = loopInfo('a');
    app.emit(
      f({
        type: 'fleet.status',
        state: 'released',
        cap: 'daily_usd',
        used: 0,
        limit: 10,
        reason: 'a new day',
      }),
    );
    await vi.waitFor(() => expect(app.frame()).not.toContain('fleet waiting'));
    expect(app.row('a')).not.toContain('starts wait');
    expect(app.rang).toHaveLength(1);
    app.emit(
      f({
        type: 'fleet.status',
        state: 'warning',
        cap: 'burn_usd_per_hour',
        used: 8,
        limit: 10,
        reason: '80% of $10/h',
      }),
    );
    await vi.waitFor(() => expect(app.frame()).toContain('fleet warning: 80% of $10/h'));
    expect(app.frame()).not.toContain('needs you');
  });

  it('shows trigger firings and triage decisions in the loop trace', async () => {
    const app = renderApp({ infos: [loopInfo('watcher')] });
    const t = stream('trigger', 'watcher');
    app.emit(
      t({
        type: 'trigger.fired',
        trigger: 'watch',
        detail: '3 files changed',
        status: 'refused',
        reason: 'already running',
      }),
      t({
        type: 'triage.decided',
        trigger: 'webhook',
        decision: 'skip',
        reason: 'a docs-only push',
        model: 'small',
        usd: 0.0002,
      }),
    );
    await vi.waitFor(() =>
      expect(app.frame()).toContain('⚡ watch 3 files changed: refused — already running'),
    );
    expect(app.frame()).toContain('⚖ triage (small, $0.0002): skip — a docs-only push');
    // A trigger event for the loop does not make it look started.
    expect(app.row('watcher')).toContain('idle');
  });

  it('says which loops were reloaded, adds new ones, and the notice goes at the next key', async () => {
    const infos = [loopInfo('a')];
    const app = renderApp({ infos });
    await vi.waitFor(() => expect(app.row('a')).toContain('idle'));
    infos.push(loopInfo('b'));
    const s = stream('supervisor', '');
    app.emit(s({ type: 'loops.changed', added: ['b'], removed: [], changed: ['a'] }));
    await vi.waitFor(() => expect(app.frame()).toContain('reloaded a · added b'));
    expect(app.row('b')).toContain('idle');
    app.stdin.write('j');
    await vi.waitFor(() => expect(app.frame()).not.toContain('reloaded a'));
  });

  it('keeps the row of a removed loop while its run is in flight', async () => {
    const infos = [loopInfo('a'), loopInfo('b')];
    const app = renderApp({ infos });
    const e = runEvents('b', 'r1');
    app.emit(e(started()));
    await vi.waitFor(() => expect(app.row('b')).toContain('running'));
    infos.splice(0, 2);
    app.emit(
      stream('supervisor', '')({ type: 'loops.changed', added: [], removed: ['a', 'b'], changed: [] }),
    );
    await vi.waitFor(() => expect(app.frame()).toContain('removed a, b'));
    expect(app.row('a')).toBe('');
    expect(app.row('b')).toContain('running');
  });
});
