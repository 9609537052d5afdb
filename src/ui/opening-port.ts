/**
 * The screen's port while the engine is still opening (state, worktrees, recovery): the first frame
 * is drawn at once, with no loops and an "opening" line, and fills in when the real port is handed
 * over. Listeners subscribed before then are moved to the real port, and a `loops.changed` (nothing
 * added or removed as far as anyone saw) makes the store read the loops.
 */
import type { Command, CommandReply, LoopInfo, SupervisorPort } from '../core/control.js';
import type { EventListener, LoopEvent } from '../core/events.js';

export class OpeningPort implements SupervisorPort {
  private real: SupervisorPort | undefined;
  private readonly listeners = new Map<EventListener, () => void>();

  get isOpen(): boolean {
    return this.real !== undefined;
  }

  /** Set when the real port is another process's (quitting this screen then stops nothing). */
  get remote(): SupervisorPort['remote'] {
    return this.real?.remote;
  }

  loops(): LoopInfo[] {
    return this.real?.loops() ?? [];
  }

  send(command: Command): CommandReply {
    if (this.real !== undefined) return this.real.send(command);
    return {
      id: command.id ?? 'opening',
      type: command.type,
      loop: command.loop,
      ok: false,
      status: 'refused',
      reason: 'loops is still opening; try again in a moment',
    };
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.set(listener, this.real?.subscribe(listener) ?? (() => undefined));
    return () => {
      this.listeners.get(listener)?.();
      this.listeners.delete(listener);
    };
  }

  /** Hands over the opened engine: every screen listener now hears it, and reads its loops. */
  attach(real: SupervisorPort): void {
    if (this.real !== undefined) return;
    this.real = real;
    const opened: LoopEvent = {
      source: 'supervisor',
      loop: '',
      run: 'opening',
      iteration: 0,
      time: new Date().toISOString(),
      seq: 1,
      span: 'opening.1',
      type: 'loops.changed',
      added: [],
      removed: [],
      changed: [],
    };
    for (const listener of [...this.listeners.keys()]) {
      this.listeners.set(listener, real.subscribe(listener));
      listener(opened);
    }
  }
}
