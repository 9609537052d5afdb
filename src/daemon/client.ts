/**
 * The client's side: `RemoteSupervisor` is the SupervisorPort of a supervisor in another process,
 * over its socket. The screen takes it where it would take the in-process supervisor: `loops()` and
 * `snapshot()` answer from the latest snapshot the owner sent, `subscribe` replays the events of the
 * runs in flight so far and then streams, and `send` forwards the command. Scripts use `request`,
 * which resolves with the owner's own reply.
 */
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  newCommandId,
  type Command,
  type CommandReply,
  type LoopInfo,
  type SupervisorPort,
  type SupervisorSnapshot,
} from '../core/control.js';
import type { EventListener, LoopEvent } from '../core/events.js';
import { readHolder, stateLockState } from '../state/lock.js';
import { RunHistory } from './history.js';
import {
  encode,
  LineReader,
  MAX_OWNER_LINE_BYTES,
  parseOwnerMessage,
  PROTOCOL_VERSION,
  type ClientMessage,
  type OwnerKind,
  type OwnerMessage,
} from './protocol.js';
import { OWNER_INFO_NAME, socketLocation } from './socket-path.js';

/** The owner went away (it quit, or was killed) while a client talked to it. */
export class OwnerGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OwnerGoneError';
  }
}

export interface OwnerWelcome {
  pid: number;
  owner: OwnerKind;
  repoRoot: string;
  attended: boolean;
}

/**
 * Who serves a state folder: `none` (no live owner: open it here, taking a dead owner's lock over),
 * `served` (connect to `socket`), or `unserved` (a live loops holds the lock but serves no socket:
 * an older loops, a `loops run` of its own, or one just starting).
 */
export type OwnerLookup =
  | { state: 'none' }
  | { state: 'served'; pid: number; socket: string }
  | { state: 'unserved'; pid: number | undefined };

export async function findOwner(
  stateRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OwnerLookup> {
  const lock = await stateLockState(stateRoot);
  if (lock === 'none' || lock === 'dead') return { state: 'none' };
  const holder = await readHolder(stateRoot);
  let info: { pid?: unknown } | undefined;
  try {
    info = JSON.parse(await readFile(path.join(stateRoot, OWNER_INFO_NAME), 'utf8')) as { pid?: unknown };
  } catch {
    info = undefined;
  }
  if (holder !== undefined && info?.pid === holder.pid)
    return { state: 'served', pid: holder.pid, socket: socketLocation(stateRoot, env).path };
  return { state: 'unserved', pid: holder?.pid };
}

export interface ConnectOptions {
  /** What this client is, for the owner's log. */
  client: string;
  /** Stream events (a screen, `loops run`); without it only snapshots and commands. */
  subscribe?: boolean;
  /** With subscribe: replay the events of the runs in flight so far. */
  history?: boolean;
  /** How long the owner has to answer the hello. */
  timeoutMs?: number;
}

export class RemoteSupervisor implements SupervisorPort {
  private readonly listeners = new Set<EventListener>();
  private readonly history = new RunHistory();
  private readonly waiting = new Map<
    string,
    { resolve: (m: OwnerMessage) => void; reject: (e: Error) => void }
  >();
  private readonly closeHandlers = new Set<(reason: string) => void>();
  /** Runs that ended since the latest snapshot was taken: left out of `snapshot()`. */
  private readonly ended = new Set<string>();
  private snap: SupervisorSnapshot;
  private nextRef = 0;
  private closedReason: string | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly owner: OwnerWelcome,
    first: SupervisorSnapshot,
  ) {
    this.snap = first;
  }

  /** Set on every port that is a connection to another process: a screen quitting leaves its runs running. */
  get remote(): { pid: number; owner: OwnerKind } {
    return { pid: this.owner.pid, owner: this.owner.owner };
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  static async connect(socketPath: string, options: ConnectOptions): Promise<RemoteSupervisor> {
    const socket = net.createConnection(socketPath);
    const reader = new LineReader(MAX_OWNER_LINE_BYTES);
    const timeoutMs = options.timeoutMs ?? 5000;
    // Messages before the port exists (welcome, the first snapshot) are collected here.
    const early: OwnerMessage[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let port: RemoteSupervisor | undefined;
    const fail = (error: Error): void => {
      failure ??= error;
      wake?.();
    };
    socket.on('data', (chunk: Buffer) => {
      const { lines, tooLong } = reader.push(chunk);
      for (const line of lines) {
        const message = parseOwnerMessage(line);
        if (message.kind === 'invalid') {
          fail(new Error(message.message));
          continue;
        }
        if (port) port.receive(message);
        else {
          early.push(message);
          wake?.();
        }
      }
      if (tooLong) {
        socket.destroy();
        fail(new Error('the owner sent a line over the limit'));
      }
    });
    socket.on('error', (error) => {
      if (port) port.lost(`the connection to loops (pid ${port.owner.pid}) failed: ${error.message}`);
      else fail(error);
    });
    socket.on('close', () => {
      if (port) port.lost(`loops (pid ${port.owner.pid}) closed the connection`);
      else fail(new OwnerGoneError('the owner closed the connection'));
    });
    const next = async (want: OwnerMessage['kind']): Promise<OwnerMessage> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = early.findIndex((m) => m.kind === want || m.kind === 'error');
        if (index !== -1) {
          const [message] = early.splice(index, 1);
          if (message?.kind === 'error') throw new Error(`the owner refused: ${message.message}`);
          if (message) return message;
        }
        if (failure) throw failure;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`loops at ${socketPath} did not answer within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    };
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.write(encode({ kind: 'hello', protocol: PROTOCOL_VERSION, client: options.client }));
      const welcome = await next('welcome');
      if (welcome.kind !== 'welcome') throw new Error('no welcome');
      const request: ClientMessage = options.subscribe
        ? { kind: 'subscribe', ref: 'attach', history: options.history ?? false }
        : { kind: 'snapshot', ref: 'attach' };
      socket.write(encode(request));
      const first = await next('snapshot');
      if (first.kind !== 'snapshot') throw new Error('no snapshot');
      port = new RemoteSupervisor(
        socket,
        { pid: welcome.pid, owner: welcome.owner, repoRoot: welcome.repoRoot, attended: welcome.attended },
        first.snapshot,
      );
      // What arrived behind the snapshot (replayed and live events) is handed on in order.
      for (const message of early.splice(0)) port.receive(message);
      if (socket.destroyed) port.lost('the owner closed the connection');
      return port;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  loops(): LoopInfo[] {
    return this.snap.loops;
  }

  snapshot(): SupervisorSnapshot {
    if (this.ended.size === 0) return this.snap;
    return {
      ...this.snap,
      runs: this.snap.runs.filter((r) => !this.ended.has(r.run)),
      approvals: this.snap.approvals.filter((a) => !this.ended.has(a.run)),
    };
  }

  /** A snapshot taken by the owner now. */
  async refresh(): Promise<SupervisorSnapshot> {
    const ref = this.ref();
    const answer = await this.ask({ kind: 'snapshot', ref });
    if (answer.kind !== 'snapshot') throw new Error('the owner did not send a snapshot');
    return answer.snapshot;
  }

  /** Replays the kept events of the runs in flight to the new listener, then streams. */
  subscribe(listener: EventListener): () => void {
    for (const event of this.history.events()) listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The port's synchronous answer: the command is sent and this says so; the owner's own reply
   * follows as a `command.replied` event on the stream (`request` waits for it).
   */
  send(command: Command): CommandReply {
    const id = command.id ?? newCommandId();
    const base = { id, type: command.type, loop: command.loop };
    if (this.closedReason !== undefined)
      return { ...base, ok: false, status: 'refused', reason: this.closedReason };
    this.request({ ...command, id }).catch(() => undefined);
    return { ...base, ok: true, status: 'done', reason: `sent to loops (pid ${this.owner.pid})` };
  }

  /** Sends a command and resolves with the owner's reply. */
  async request(command: Command): Promise<CommandReply> {
    const ref = this.ref();
    const answer = await this.ask({ kind: 'command', ref, command: stripUndefined(command) });
    if (answer.kind !== 'reply') throw new Error('the owner did not reply to the command');
    return answer.reply;
  }

  onClose(handler: (reason: string) => void): () => void {
    if (this.closedReason !== undefined) handler(this.closedReason);
    else this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  close(): void {
    this.socket.end();
    this.lost('closed');
  }

  private ref(): string {
    this.nextRef += 1;
    return `r${this.nextRef}`;
  }

  private ask(message: ClientMessage & { ref: string }): Promise<OwnerMessage> {
    if (this.closedReason !== undefined) return Promise.reject(new OwnerGoneError(this.closedReason));
    return new Promise((resolve, reject) => {
      this.waiting.set(message.ref, { resolve, reject });
      this.socket.write(encode(message));
    });
  }

  private receive(message: OwnerMessage): void {
    switch (message.kind) {
      case 'event':
        this.deliver(message.event);
        return;
      case 'snapshot':
        if (message.ref !== undefined && message.ref !== 'attach') this.answer(message.ref, message);
        else this.replaceSnapshot(message.snapshot);
        return;
      case 'reply':
        this.answer(message.ref, message);
        return;
      case 'error': {
        const waiting = message.ref === undefined ? undefined : this.waiting.get(message.ref);
        if (waiting && message.ref !== undefined) {
          this.waiting.delete(message.ref);
          waiting.reject(new Error(message.message));
        }
        return;
      }
      case 'bye':
        this.lost(`loops (pid ${this.owner.pid}) is gone: ${message.reason}`);
        return;
      case 'welcome':
        return;
    }
  }

  private replaceSnapshot(snapshot: SupervisorSnapshot): void {
    this.snap = snapshot;
    const inFlight = new Set(snapshot.runs.map((r) => r.run));
    for (const run of this.ended) if (!inFlight.has(run)) this.ended.delete(run);
  }

  private deliver(event: LoopEvent): void {
    this.history.add(event);
    if (event.type === 'run.ended') this.ended.add(event.run);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        process.emitWarning(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private answer(ref: string, message: OwnerMessage): void {
    const waiting = this.waiting.get(ref);
    if (!waiting) return;
    this.waiting.delete(ref);
    waiting.resolve(message);
  }

  private lost(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const { reject } of this.waiting.values()) reject(new OwnerGoneError(reason));
    this.waiting.clear();
    for (const handler of this.closeHandlers) handler(reason);
    this.closeHandlers.clear();
    this.socket.destroy();
  }
}

/** JSON drops undefined fields anyway; the owner's strict schema must not see them as present. */
function stripUndefined(command: Command): Command {
  return Object.fromEntries(Object.entries(command).filter(([, v]) => v !== undefined)) as Command;
}
