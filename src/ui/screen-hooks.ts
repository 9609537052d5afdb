/** The screen's effects, each in one hook: the state ref, quitting, the bell, approvals opening. */
import { useApp } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { isOwnCommandId, type SupervisorPort } from '../core/control.js';
import { BellMemory, notificationBytes, type Env } from './bell.js';
import { needsYou } from './needs.js';
import { INITIAL_SCREEN, pushOverlay, type ScreenState } from './screen.js';
import { isActive } from './state.js';
import type { UiStore } from './store.js';
import { shallowArrayEqual, useUiSelector } from './use-store.js';

/** Mirrored in a ref: two keys can arrive before React re-renders, and the second must see the first. */
export function useScreenState(): [ScreenState, () => ScreenState, (patch: Partial<ScreenState>) => void] {
  const ref = useRef(INITIAL_SCREEN);
  const [screen, setScreen] = useState(INITIAL_SCREEN);
  const get = useRef(() => ref.current).current;
  const change = useRef((patch: Partial<ScreenState>): void => {
    ref.current = { ...ref.current, ...patch };
    setScreen(ref.current);
  }).current;
  return [screen, get, change];
}

/** After q: stop every loop this screen can reach (also ones a trigger starts meanwhile), then exit. */
export function useQuit(
  screen: ScreenState,
  port: SupervisorPort,
  store: UiStore,
  onExit: (() => void) | undefined,
): number {
  const { exit } = useApp();
  const active = useUiSelector((state) => state.loops.filter((view) => isActive(view.status)).length);
  const stoppable = useUiSelector(
    (state) =>
      state.loops
        .filter((view) => view.status === 'running' || view.status === 'paused')
        .map((view) => view.info.name),
    shallowArrayEqual,
  );
  const exited = useRef(false);
  useEffect(() => {
    if (!screen.quitting || exited.current) return;
    // A screen attached to another process's supervisor leaves its runs running.
    if (active === 0 || screen.leaveNow || port.remote !== undefined) {
      exited.current = true;
      onExit?.();
      exit();
      return;
    }
    for (const loop of stoppable) {
      port.send({ type: 'stop', loop });
      store.markStopping(loop);
    }
  }, [screen.quitting, screen.leaveNow, active, stoppable, port, store, exit, onExit]);
  return active;
}

/**
 * Rings once per new reason a loop needs a person. What needed a person when the screen opened
 * (an old failure) is remembered without ringing.
 */
export function useBell(notify: ((bytes: string) => void) | undefined, env: Env): void {
  const needs = useUiSelector(
    (state) => [
      ...state.loops.flatMap((view) => {
        const need = needsYou(view);
        return need === undefined ? [] : [`${view.info.name}\t${need.reason}`];
      }),
      // The fleet holding every run back needs a person as much as one loop does.
      ...(state.fleet?.state === 'waiting' ? [`fleet\twaiting: ${state.fleet.reason}`] : []),
    ],
    shallowArrayEqual,
  );
  const memory = useRef<BellMemory | undefined>(undefined);
  useEffect(() => {
    const current = new Map(needs.map((line) => line.split('\t') as [string, string]));
    if (memory.current === undefined) {
      memory.current = new BellMemory();
      memory.current.news(current);
      return;
    }
    for (const { loop, reason } of memory.current.news(current)) {
      notify?.(notificationBytes('loops', `${loop}: ${reason}`, env));
    }
  }, [needs, notify, env]);
}

/** A new approval opens itself, unless another overlay is open or this screen already settled it. */
export function useApprovalAutoOpen(
  screen: ScreenState,
  get: () => ScreenState,
  change: (patch: Partial<ScreenState>) => void,
): void {
  const pending = useUiSelector((state) => state.loops.flatMap((view) => view.approvals), shallowArrayEqual);
  const open = screen.overlays.length;
  useEffect(() => {
    const now = get();
    if (now.overlays.length > 0 || now.quitting) return;
    const settled = new Set(now.settledApprovals);
    const first = pending.find((a) => !settled.has(a.approvalId));
    if (first !== undefined) change(pushOverlay(now, { kind: 'approval', approval: first }));
  }, [pending, open, get, change]);
}

/**
 * On a screen attached to another process, `send` can only say the command was sent; the owner's
 * answer (started, queued, refused and why) comes back as a `command.replied` event, and is shown
 * as the notice when it answers a command this screen sent.
 */
export function useRemoteReplies(port: SupervisorPort, change: (patch: Partial<ScreenState>) => void): void {
  // Read at each render: the opening port learns whether it is remote only once it is handed the real one.
  const remote = port.remote !== undefined;
  useEffect(() => {
    if (!remote) return;
    return port.subscribe((event) => {
      if (event.type !== 'command.replied' || !isOwnCommandId(event.id)) return;
      const name = event.loop || 'loops';
      change({
        notice:
          event.status === 'queued'
            ? `${name} queued: ${event.reason}`
            : event.ok
              ? `${name}: ${event.reason}`
              : `${name}: refused: ${event.reason}`,
      });
    });
  }, [port, remote, change]);
}
