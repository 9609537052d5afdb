/**
 * The owner's side: serves the supervisor's port on the state folder's unix socket (socket-path.ts)
 * to every other `loops`. Each client says hello, then asks for snapshots, subscribes to the event
 * stream, or sends commands. A client can never crash the owner: a malformed message gets an error
 * reply, a line over the limit or a client that does not read ends that connection only.
 *
 * It is started after the supervisor holds the lock (so any socket left at the path is a dead
 * owner's and is replaced) and closed after the supervisor's shutdown, so clients see the runs
 * that the shutdown stopped end.
 */
import { chmodSync, lstatSync, rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command, CommandReply, SupervisorPort, SupervisorSnapshot } from '../core/control.js';
import type { LoopEvent } from '../core/events.js';
import { writeFileAtomic } from '../state/atomic.js';
import { RunHistory } from './history.js';
import {
  encode,
  LineReader,
  MAX_CLIENT_LINE_BYTES,
  parseClientMessage,
  PROTOCOL_VERSION,
  type ClientMessage,
  type OwnerKind,
  type OwnerMessage,
} from './protocol.js';
import { ensurePrivateDir, OWNER_INFO_NAME, socketLocation } from './socket-path.js';

export type ServedPort = SupervisorPort & { snapshot(): SupervisorSnapshot };

export interface OwnerServerOptions {
  port: ServedPort;
  stateRoot: string;
  repoRoot: string;
  owner: OwnerKind;
  attended: boolean;
  env?: NodeJS.ProcessEnv;
  /** One line per thing worth saying (a client's command and its reply). */
  log?: (line: string) => void;
  /** Connections at once; more are refused. */
  maxClients?: number;
  /** A client that has not said hello by then is disconnected. */
  helloTimeoutMs?: number;
  /** Bytes waiting to be written to one client before it counts as not reading and is dropped. */
  maxBufferedBytes?: number;
  /**
   * `resume` of a loop with no paused run: continue its last interrupted or budget-ended run in the
   * owner (commands/resume.ts), as `loops resume NAME` does with no owner.
   */
  continueRun?: (command: ResumeCommand, id: string) => Promise<CommandReply>;
}

export type ResumeCommand = Extract<Command, { type: 'resume' }>;

export interface OwnerServer {
  readonly path: string;
  clients(): number;
  /** Says bye to every client, closes the socket and removes it. */
  close(reason: string): Promise<void>;
}

/** Events after which a fresh snapshot is pushed to subscribers (the state a list shows changed). */
const STATE_EVENTS = new Set<LoopEvent['type']>([
  'run.started',
  'run.ended',
  'run.paused',
  'run.resumed',
  'iteration.started',
  'approval.requested',
  'approval.resolved',
  'stall.detected',
  'stall.cleared',
  'queue.changed',
  'loops.changed',
  'schedule.next',
  'goal.progress',
  'fleet.status',
]);

/** Pushed snapshots are coalesced: at most one per this many ms. */
const SNAPSHOT_PUSH_MS = 100;

interface Client {
  socket: net.Socket;
  reader: LineReader;
  hello: boolean;
  name: string;
  subscribed: boolean;
  helloTimer: NodeJS.Timeout | undefined;
}

export async function serveOwner(options: OwnerServerOptions): Promise<OwnerServer> {
  const env = options.env ?? process.env;
  const location = socketLocation(options.stateRoot, env);
  if (location.fallbackDir !== undefined) ensurePrivateDir(location.fallbackDir);
  removeStaleSocket(location.path);
  const maxClients = options.maxClients ?? 64;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const maxBuffered = options.maxBufferedBytes ?? 64 * 1024 * 1024;
  const log = options.log ?? (() => undefined);
  const clients = new Set<Client>();
  const history = new RunHistory();
  let closing = false;
  let pushTimer: NodeJS.Timeout | undefined;

  const write = (client: Client, message: OwnerMessage): void => {
    if (client.socket.destroyed) return;
    // A client that stops reading would otherwise grow the owner's memory without bound.
    if (client.socket.writableLength > maxBuffered) {
      client.socket.destroy();
      return;
    }
    client.socket.write(encode(message));
  };

  const pushSnapshot = (): void => {
    pushTimer = undefined;
    if (closing) return;
    const subscribers = [...clients].filter((c) => c.subscribed);
    if (subscribers.length === 0) return;
    const snapshot = options.port.snapshot();
    for (const client of subscribers) write(client, { kind: 'snapshot', snapshot });
  };

  const unsubscribe = options.port.subscribe((event) => {
    history.add(event);
    for (const client of clients) if (client.subscribed) write(client, { kind: 'event', event });
    if (STATE_EVENTS.has(event.type)) pushTimer ??= setTimeout(pushSnapshot, SNAPSHOT_PUSH_MS);
  });

  const handle = (client: Client, message: ClientMessage): void => {
    if (message.kind === 'hello') {
      if (message.protocol !== PROTOCOL_VERSION) {
        write(client, {
          kind: 'error',
          message: `protocol ${message.protocol} is not spoken here (this loops speaks ${PROTOCOL_VERSION}): use the same loops version`,
        });
        client.socket.end();
        return;
      }
      client.hello = true;
      client.name = message.client;
      clearTimeout(client.helloTimer);
      write(client, {
        kind: 'welcome',
        protocol: PROTOCOL_VERSION,
        pid: process.pid,
        owner: options.owner,
        repoRoot: options.repoRoot,
        attended: options.attended,
      });
      return;
    }
    if (!client.hello) {
      write(client, { kind: 'error', ref: message.ref, message: 'say hello first' });
      return;
    }
    if (message.kind === 'snapshot') {
      write(client, { kind: 'snapshot', ref: message.ref, snapshot: options.port.snapshot() });
      return;
    }
    if (message.kind === 'subscribe') {
      // All in one turn of the event loop: no event can fall between the snapshot and the stream.
      write(client, { kind: 'snapshot', ref: message.ref, snapshot: options.port.snapshot() });
      if (message.history)
        for (const event of history.events()) write(client, { kind: 'event', event, replay: true });
      client.subscribed = true;
      return;
    }
    if (closing) {
      write(client, {
        kind: 'reply',
        ref: message.ref,
        reply: {
          id: message.command.id ?? message.ref,
          type: message.command.type,
          loop: message.command.loop,
          ok: false,
          status: 'refused',
          reason: 'loops is shutting down',
        },
      });
      return;
    }
    const { command, ref } = message;
    const answered = (reply: CommandReply): void => {
      write(client, { kind: 'reply', ref, reply });
      log(`${client.name}: ${command.type} ${command.loop}: ${reply.status}: ${reply.reason}`);
    };
    const failed = (error: unknown): void => {
      write(client, {
        kind: 'error',
        ref,
        message: `the command failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    };
    if (command.type === 'resume' && options.continueRun && !pausedRun(options.port.snapshot(), command)) {
      options.continueRun(command, command.id ?? ref).then(answered, failed);
      return;
    }
    try {
      answered(options.port.send(command));
    } catch (error) {
      failed(error);
    }
  };

  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    if (closing || clients.size >= maxClients) {
      socket.end(encode({ kind: 'error', message: closing ? 'loops is shutting down' : 'too many clients' }));
      socket.on('error', () => socket.destroy());
      return;
    }
    const client: Client = {
      socket,
      reader: new LineReader(MAX_CLIENT_LINE_BYTES),
      hello: false,
      name: 'client',
      subscribed: false,
      helloTimer: undefined,
    };
    client.helloTimer = setTimeout(() => {
      if (!client.hello) socket.destroy();
    }, helloTimeoutMs);
    client.helloTimer.unref();
    clients.add(client);
    socket.on('data', (chunk: Buffer) => {
      const { lines, tooLong } = client.reader.push(chunk);
      for (const line of lines) {
        if (line.trim() === '') continue;
        const message = parseClientMessage(line);
        if (message.kind === 'invalid') {
          write(client, {
            kind: 'error',
            ...(message.ref === undefined ? {} : { ref: message.ref }),
            message: message.message,
          });
          continue;
        }
        handle(client, message);
      }
      if (tooLong) {
        write(client, { kind: 'error', message: `a line over ${MAX_CLIENT_LINE_BYTES} bytes; closing` });
        // Nothing after it can be read (where would the next message start?): the error is flushed,
        // then the connection is cut, whatever the client still sends.
        client.reader = new LineReader(0);
        socket.pause();
        socket.end(() => socket.destroy());
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(client.helloTimer);
      clients.delete(client);
    });
  });
  server.on('error', (error) => log(`the socket server failed: ${error.message}`));

  await listenPrivately(server, location.path);
  const infoPath = path.join(options.stateRoot, OWNER_INFO_NAME);
  await writeFileAtomic(
    infoPath,
    `${JSON.stringify({ pid: process.pid, socket: location.path, owner: options.owner, protocol: PROTOCOL_VERSION })}\n`,
  );

  let closed: Promise<void> | undefined;
  return {
    path: location.path,
    clients: () => clients.size,
    close(reason: string): Promise<void> {
      closed ??= (async () => {
        closing = true;
        clearTimeout(pushTimer);
        unsubscribe();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const client of clients) {
            write(client, { kind: 'bye', reason });
            client.socket.end();
            // A client that does not close its side is not waited for.
            setTimeout(() => client.socket.destroy(), 1000).unref();
          }
        });
        removeQuietly(infoPath);
        removeQuietly(location.path);
        if (location.fallbackDir !== undefined)
          rmSync(location.fallbackDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/**
 * Only the owner may connect: the socket is made with a umask that leaves it 0600 (so there is no
 * moment it is open to others), and set to 0600 again after.
 */
async function listenPrivately(server: net.Server, socketPath: string): Promise<void> {
  const listening = new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void =>
      reject(new Error(`cannot listen on ${socketPath}: ${error.message}`));
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve();
    });
  });
  // The bind happens inside listen(), synchronously: the umask is put back at once, so no other
  // file this process makes meanwhile is affected.
  const before = process.umask(0o177);
  try {
    server.listen(socketPath);
  } finally {
    process.umask(before);
  }
  await listening;
  chmodSync(socketPath, 0o600);
}

/** The lock is ours, so a socket at the path is a dead owner's: it is replaced. Anything else is refused. */
function removeStaleSocket(socketPath: string): void {
  let st;
  try {
    st = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} is not a socket; remove it, then start loops again`);
  unlinkSync(socketPath);
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

function pausedRun(snapshot: SupervisorSnapshot, target: ResumeCommand): boolean {
  return snapshot.runs.some(
    (r) =>
      r.loop === target.loop && r.status === 'paused' && (target.run === undefined || r.run === target.run),
  );
}
