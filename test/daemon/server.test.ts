/**
 * The owner's socket, in process: a real Supervisor on a temp repo serves its port on a real unix
 * socket; clients are RemoteSupervisors and raw sockets (the hostile ones).
 */
import { existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { RemoteSupervisor, findOwner } from '../../src/daemon/client.js';
import { serveOwner, type OwnerServer } from '../../src/daemon/server.js';
import { PROTOCOL_VERSION } from '../../src/daemon/protocol.js';
import { openOwner, type LocalOwner } from '../../src/commands/port.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { HOLDER, HOLDER_SCRIPT } from '../support/holder-loop.js';

let repo: TestRepo;
let owner: LocalOwner | undefined;
const clients: RemoteSupervisor[] = [];
const raw: net.Socket[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  await repo.addLoop('holder', HOLDER, HOLDER_SCRIPT);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of raw.splice(0)) s.destroy();
  await owner?.close('test over');
  owner = undefined;
  await repo.cleanup();
});

async function open(env?: NodeJS.ProcessEnv): Promise<LocalOwner> {
  owner = await openOwner(repo.dir, 'daemon', { attended: true, ...(env ? { env } : {}) });
  return owner;
}

async function connect(path: string, subscribe = false): Promise<RemoteSupervisor> {
  const client = await RemoteSupervisor.connect(path, { client: 'test', subscribe, history: subscribe });
  clients.push(client);
  return client;
}

function next(
  port: { subscribe(l: (e: LoopEvent) => void): () => void },
  test: (e: LoopEvent) => boolean,
): Promise<LoopEvent> {
  return new Promise((resolve) => {
    const off = port.subscribe((e) => {
      if (!test(e)) return;
      off();
      resolve(e);
    });
  });
}

/** A raw client: what it received, line by line. */
function rawClient(path: string): { socket: net.Socket; lines: () => unknown[]; closed: () => boolean } {
  const socket = net.createConnection(path);
  raw.push(socket);
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return {
    socket,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown),
    closed: () => closed,
  };
}

describe('the owner serves its port on a socket', () => {
  it('answers hello, commands and snapshots, and a client attaching mid-run sees the same state', async () => {
    const o = await open();
    const stat = lstatSync(o.server.path);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(o.server.path).toBe(join(o.supervisor.paths.root, 'loops.sock'));
    expect(await findOwner(o.supervisor.paths.root)).toEqual({
      state: 'served',
      pid: process.pid,
      socket: o.server.path,
    });

    const script = await connect(o.server.path);
    expect(script.owner).toMatchObject({ pid: process.pid, owner: 'daemon', attended: true });
    const asked = next(o.supervisor, (e) => e.type === 'approval.requested');
    const reply = await script.request({ type: 'start', loop: 'holder' });
    expect(reply).toMatchObject({ ok: true, status: 'started', loop: 'holder' });
    await asked;

    // The screen attaches while the run waits for its approval: it is replayed the run so far.
    const screen = await connect(o.server.path, true);
    const replayed: LoopEvent[] = [];
    screen.subscribe((e) => replayed.push(e));
    expect(replayed.map((e) => e.type)).toContain('run.started');
    expect(replayed.map((e) => e.type)).toContain('approval.requested');
    expect(replayed.every((e) => e.run === reply.run)).toBe(true);
    const own = o.supervisor.snapshot();
    expect(screen.snapshot()).toEqual(own);
    expect(await screen.refresh()).toEqual(own);
    expect(own.runs).toHaveLength(1);
    expect(own.approvals).toHaveLength(1);

    // Its answer reaches the run, and the run's end reaches the screen.
    const ended = next(screen, (e) => e.type === 'run.ended');
    const approval = own.approvals[0]!;
    const answer = await screen.request({
      type: 'approve',
      loop: 'holder',
      run: approval.run,
      approvalId: approval.approvalId,
    });
    expect(answer).toMatchObject({ ok: true, status: 'done' });
    expect(await ended).toMatchObject({ type: 'run.ended', run: reply.run });
    await vi.waitFor(() => expect(screen.snapshot().runs).toEqual([]), { timeout: 10_000, interval: 20 });
    // A refused command is the owner's own refusal, with its reason.
    expect(await script.request({ type: 'stop', loop: 'nope' })).toMatchObject({
      ok: false,
      status: 'refused',
    });
  });

  it('survives garbage, an unknown kind, commands before hello, a wrong protocol and a huge line', async () => {
    const o = await open();
    const a = rawClient(o.server.path);
    a.socket.write('not json\n{"kind":"command","ref":"early","command":{"type":"stop","loop":"holder"}}\n');
    a.socket.write(
      `{"kind":"hello","protocol":${PROTOCOL_VERSION},"client":"x"}\n{"kind":"explode","ref":"r1"}\n`,
    );
    a.socket.write('{"kind":"command","ref":"r2","command":{"type":"start","loop":"holder","context":{}}}\n');
    a.socket.write('\u0000\u0001\u00ff\n');
    await vi.waitFor(() => expect(a.lines().length).toBeGreaterThanOrEqual(6), {
      timeout: 5000,
      interval: 20,
    });
    const kinds = a.lines().map((l) => (l as { kind: string; ref?: string }).kind);
    expect(kinds).toEqual(['error', 'error', 'welcome', 'error', 'error', 'error']);
    expect(a.lines()[1]).toMatchObject({ ref: 'early', message: 'say hello first' });
    expect(a.lines()[3]).toMatchObject({ ref: 'r1' });
    // Nothing was started by any of it.
    expect(o.supervisor.snapshot().runs).toEqual([]);

    const b = rawClient(o.server.path);
    b.socket.write(`{"kind":"hello","protocol":${PROTOCOL_VERSION + 1},"client":"future"}\n`);
    await vi.waitFor(() => expect(b.closed()).toBe(true), { timeout: 5000, interval: 20 });
    expect(b.lines()[0]).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('protocol') as string,
    });

    // Two megabytes without a newline: that connection ends, the owner goes on.
    const c = rawClient(o.server.path);
    c.socket.write(Buffer.alloc(2 * 1024 * 1024, 'x'));
    await vi.waitFor(() => expect(c.closed()).toBe(true), { timeout: 10_000, interval: 20 });

    const fine = await connect(o.server.path);
    expect(await fine.request({ type: 'start', loop: 'holder' })).toMatchObject({ status: 'started' });
  });

  it('disconnects a client that never says hello', async () => {
    const supervisor = await Supervisor.open(repo.dir, {});
    let server: OwnerServer | undefined;
    try {
      server = await serveOwner({
        port: supervisor,
        stateRoot: supervisor.paths.root,
        repoRoot: supervisor.repoRoot,
        owner: 'daemon',
        attended: false,
        helloTimeoutMs: 100,
      });
      const silent = rawClient(server.path);
      await vi.waitFor(() => expect(silent.closed()).toBe(true), { timeout: 5000, interval: 20 });
      expect(server.clients()).toBe(0);
    } finally {
      await supervisor.shutdown();
      await server?.close('test over');
    }
  });

  it('replaces a dead owner’s socket, refuses a file that is not one, and removes its own on close', async () => {
    const first = await open();
    const path = first.server.path;
    const root = first.supervisor.paths.root;
    await first.close('done');
    owner = undefined;
    expect(() => lstatSync(path)).toThrow();
    expect(await findOwner(root)).toEqual({ state: 'none' });

    // A socket file with nothing listening, as a killed owner leaves it.
    const stale = net.createServer();
    await new Promise<void>((resolve) => stale.listen(path, resolve));
    await new Promise<void>((resolve) => {
      stale.close(() => resolve());
    });
    if (!existsSync(path)) {
      // This node removed it on close: make one that stays, the way a SIGKILL leaves it.
      const child = await execa(
        'node',
        [
          '-e',
          `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
        ],
        { reject: false },
      );
      expect(child.signal).toBe('SIGKILL');
    }
    expect(lstatSync(path).isSocket()).toBe(true);
    const again = await open();
    expect(again.server.path).toBe(path);
    const client = await connect(path);
    expect(client.loops().map((l) => l.name)).toContain('holder');
    await again.close('done');
    owner = undefined;

    writeFileSync(path, 'not a socket');
    await expect(openOwner(repo.dir, 'daemon', {})).rejects.toThrow(/is not a socket/);
    // The failed open let the folder go: nothing holds it.
    expect(await findOwner(root)).toEqual({ state: 'none' });
  });

  it('puts the socket in a private folder when the state path is too long, and checks that folder', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'loops-rt-'));
    try {
      const deep = join(repo.dir, 'a'.repeat(60), 'b'.repeat(60));
      mkdirSync(deep, { recursive: true });
      await repo.git('-C', deep, 'init', '-q');
      await repo.git('-C', deep, 'commit', '-q', '--allow-empty', '-m', 'init');
      const o = await openOwner(deep, 'daemon', { env: { ...process.env, XDG_RUNTIME_DIR: scratch } });
      try {
        expect(o.server.path.startsWith(join(scratch, 'loops-'))).toBe(true);
        expect(Buffer.byteLength(o.server.path)).toBeLessThanOrEqual(100);
        const dir = join(o.server.path, '..');
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(lstatSync(o.server.path).mode & 0o777).toBe(0o600);
        const lookup = await findOwner(o.supervisor.paths.root, { XDG_RUNTIME_DIR: scratch });
        expect(lookup).toMatchObject({ state: 'served', socket: o.server.path });
        const client = await connect(o.server.path);
        expect(client.owner.pid).toBe(process.pid);
      } finally {
        await o.close('done');
      }
      expect(() => lstatSync(o.server.path)).toThrow();

      // A fallback folder someone else could reach is refused, not used.
      const o2dir = join(scratch, 'x');
      mkdirSync(o2dir, { mode: 0o755 });
      const { checkPrivateDir } = await import('../../src/daemon/socket-path.js');
      expect(() => checkPrivateDir(o2dir)).toThrow(/reached by others/);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('says bye when the owner closes, after the runs the shutdown stopped have ended', async () => {
    const o = await open();
    const screen = await connect(o.server.path, true);
    const seen: LoopEvent[] = [];
    screen.subscribe((e) => seen.push(e));
    let gone: string | undefined;
    screen.onClose((reason) => (gone = reason));
    const asked = next(o.supervisor, (e) => e.type === 'approval.requested');
    await screen.request({ type: 'start', loop: 'holder' });
    await asked;
    await o.close('the owner quit');
    owner = undefined;
    await vi.waitFor(() => expect(gone).toContain('the owner quit'), { timeout: 5000, interval: 20 });
    expect(seen.find((e) => e.type === 'run.ended')).toMatchObject({ outcome: 'stopped' });
    expect(screen.send({ type: 'stop', loop: 'holder' })).toMatchObject({ ok: false, status: 'refused' });
  });
});

describe('a screen attached over the socket', () => {
  it('shows a run in flight as the owner’s own screen does, and its quit stops nothing', async () => {
    const { createStore } = await import('../../src/ui/store.js');
    const o = await open();
    // The owner's screen, fed from the start.
    const local = createStore(o.supervisor, { flushMs: 5 });
    const asked = next(o.supervisor, (e) => e.type === 'approval.requested');
    o.supervisor.send({ type: 'start', loop: 'holder' });
    await asked;
    // A second screen attaches mid-run.
    const remote = await connect(o.server.path, true);
    expect(remote.remote).toEqual({ pid: process.pid, owner: 'daemon' });
    const attached = createStore(remote, { flushMs: 5 });
    const view = (s: ReturnType<typeof createStore>) => {
      const v = s.getState().loops.find((l) => l.info.name === 'holder')!;
      return {
        status: v.status,
        iteration: v.iteration,
        approvals: v.approvals.map((a) => a.approvalId),
        run: v.run,
      };
    };
    await vi.waitFor(() => expect(view(attached).approvals).toHaveLength(1), { timeout: 5000, interval: 10 });
    await vi.waitFor(() => expect(view(attached)).toEqual(view(local)), { timeout: 5000, interval: 10 });
    // Closing the attached screen's connection leaves the run where it was.
    attached.dispose();
    remote.close();
    expect(o.supervisor.snapshot().runs).toHaveLength(1);
    local.dispose();
  });
});
