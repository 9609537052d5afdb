/** Outbound notifications against a real HTTP receiver on 127.0.0.1. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventListener, LoopEvent, LoopEventBody } from '../../src/core/events.js';
import type { JobContext } from '../../src/core/jobs.js';
import { Supervisor } from '../../src/core/supervisor.js';
import { defaultFleet } from '../../src/fleet/file.js';
import { fleetFrom } from '../../src/fleet/index.js';
import { OutboundNotifier, type OutboundOptions } from '../../src/notify/outbound.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

interface Received {
  body: unknown;
  headers: IncomingMessage['headers'];
}

interface Receiver {
  url: string;
  received: Received[];
  /** Responses still open (a hanging receiver never ends them). */
  open: ServerResponse[];
  close(): Promise<void>;
}

const receivers: Receiver[] = [];
let repo: TestRepo | undefined;
let supervisor: Supervisor | undefined;

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  for (const r of receivers.splice(0)) await r.close();
  await repo?.cleanup();
  repo = undefined;
});

/** `answer` returns the status for the n-th request (1-based), or 'hang' to never answer. */
async function receiver(answer: (n: number) => number | 'hang'): Promise<Receiver> {
  const received: Received[] = [];
  const open: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
      const status = answer(received.length);
      if (status === 'hang') {
        open.push(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const r: Receiver = {
    // The path is what a real webhook URL keeps secret.
    url: `http://127.0.0.1:${port}/services/T0SECRET/B0SECRET/xoxSecretToken`,
    received,
    open,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  receivers.push(r);
  return r;
}

interface Harness {
  job: OutboundNotifier;
  events: Array<{ loop: string; body: LoopEventBody }>;
  errors: unknown[];
  send(event: Partial<LoopEvent> & { type: LoopEvent['type'] }): void;
}

function harness(url: string | undefined, options: OutboundOptions = {}): Harness {
  const listeners = new Set<EventListener>();
  const events: Harness['events'] = [];
  const errors: unknown[] = [];
  const env = url === undefined ? {} : { LOOPS_NOTIFY_URL: url };
  const ctx = {
    env,
    subscribe: (l: EventListener) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit: (_source: string, loop: string, body: LoopEventBody) => events.push({ loop, body }),
    reportError: (e: unknown) => errors.push(e),
  } as unknown as JobContext;
  const job = new OutboundNotifier({ backoffMs: 1, timeoutMs: 2_000, ...options });
  job.start(ctx);
  return {
    job,
    events,
    errors,
    send(event) {
      const full = {
        loop: 'fix-tests',
        run: 'r1',
        iteration: 2,
        time: '',
        seq: 1,
        span: 's',
        ...event,
      } as LoopEvent;
      for (const l of listeners) l(full);
    },
  };
}

const ENDED = {
  type: 'run.ended' as const,
  outcome: 'verified' as const,
  reason: 'all 2 grader(s) passed on iteration 2',
  iterations: 2,
  toolCalls: 5,
  usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
  spend: { usd: 0.1234, unpricedCalls: 0 },
  branch: 'loops/fix-tests/r1',
  worktree: '/tmp/w',
};

function kinds(h: Harness): string[] {
  return h.events.map(({ body }) =>
    body.type === 'notify.sent'
      ? `sent ${body.status} x${body.attempts}`
      : body.type === 'notify.failed'
        ? `failed x${body.attempts}: ${body.reason}`
        : body.type,
  );
}

describe('outbound notifications', () => {
  it('posts a Slack-style body on a run outcome', async () => {
    const r = await receiver(() => 200);
    const h = harness(r.url);
    h.send(ENDED);
    await vi.waitFor(() => expect(kinds(h)).toEqual(['sent 200 x1']));
    expect(r.received).toHaveLength(1);
    expect(r.received[0]?.headers['content-type']).toBe('application/json');
    expect(r.received[0]?.body).toEqual({
      text: 'fix-tests: verified: all 2 grader(s) passed on iteration 2 · $0.12 · branch loops/fix-tests/r1',
      kind: 'outcome',
      loop: 'fix-tests',
      run: 'r1',
      outcome: 'verified',
      reason: 'all 2 grader(s) passed on iteration 2',
      spend: { usd: 0.1234, unpricedCalls: 0 },
      branch: 'loops/fix-tests/r1',
    });
    expect(h.events[0]).toMatchObject({ loop: 'fix-tests', body: { about: 'outcome of fix-tests' } });
  });

  it('retries a 500 a bounded number of times, then gives up and says so', async () => {
    const r = await receiver(() => 500);
    const h = harness(r.url, { retries: 2 });
    h.send(ENDED);
    await vi.waitFor(() => expect(kinds(h)).toEqual(['failed x3: the receiver answered HTTP 500']));
    expect(r.received).toHaveLength(3);
  });

  it('goes on after a retry succeeds, and does not retry a 404', async () => {
    const flaky = await receiver((n) => (n === 1 ? 503 : 204));
    const h = harness(flaky.url, { retries: 3 });
    h.send(ENDED);
    await vi.waitFor(() => expect(kinds(h)).toEqual(['sent 204 x2']));
    const gone = await receiver(() => 404);
    const h2 = harness(gone.url, { retries: 3 });
    h2.send(ENDED);
    await vi.waitFor(() => expect(kinds(h2)).toEqual(['failed x1: the receiver answered HTTP 404']));
    expect(gone.received).toHaveLength(1);
  });

  it('names only an error code when the receiver cannot be reached, never its address', async () => {
    const r = await receiver(() => 200);
    const url = r.url;
    await r.close();
    receivers.splice(receivers.indexOf(r), 1);
    const h = harness(url, { retries: 1 });
    h.send(ENDED);
    await vi.waitFor(() =>
      expect(kinds(h)).toEqual(['failed x2: could not reach the receiver (ECONNREFUSED)']),
    );
    const port = new URL(url).port;
    expect(JSON.stringify(h.events)).not.toContain(port);
    expect(JSON.stringify(h.events)).not.toContain('127.0.0.1');
  });

  it('sends what needs a person and the fleet, and only the kinds asked for', async () => {
    const r = await receiver(() => 200);
    const h = harness(r.url);
    const approval = {
      type: 'approval.requested' as const,
      approvalId: 'a1',
      callId: 'c1',
      tool: 'run',
      input: { command: 'git push' },
      rule: 'run:git push*',
      matched: 'git push',
    };
    h.send({ ...approval, timeoutMs: 900_000 });
    // Headless: denied at once, nobody to call.
    h.send({ ...approval, timeoutMs: 0 });
    h.send({ type: 'stall.detected', reason: 'the same diff three times', window: 3, action: 'pause' });
    h.send({ type: 'stall.detected', reason: 'x', window: 3, action: 'nudge' });
    const warning = {
      type: 'fleet.status' as const,
      loop: '',
      state: 'warning' as const,
      cap: 'daily_usd' as const,
    };
    h.send({ ...warning, used: 16, limit: 20, reason: 'at 80%' });
    // At 100% the waiting that comes with it says it all.
    h.send({ ...warning, used: 20, limit: 20, reason: 'at 100%' });
    h.send({
      type: 'fleet.status',
      loop: '',
      state: 'waiting',
      cap: 'daily_usd',
      used: 20,
      limit: 20,
      reason: 'cap <!channel>',
    });
    h.send({
      type: 'fleet.status',
      loop: '',
      state: 'released',
      cap: 'daily_usd',
      used: 0,
      limit: 20,
      reason: 'go',
    });
    await vi.waitFor(() => expect(kinds(h)).toHaveLength(4));
    expect(kinds(h).every((k) => k === 'sent 200 x1')).toBe(true);
    const bodies = r.received.map((x) => x.body as { kind: string; text: string });
    expect(bodies.map((b) => b.kind)).toEqual(['needs_person', 'needs_person', 'fleet', 'fleet']);
    expect(bodies[2]?.text).toBe('loops fleet warning: at 80%');
    expect(bodies[0]?.text).toContain('fix-tests needs a person: run waits for approval');
    expect(bodies[1]?.text).toContain('paused, it looks stalled: the same diff three times');
    // Slack markup in a reason cannot ping a channel.
    expect(bodies[3]?.text).toBe('loops fleet is waiting: cap &lt;!channel&gt;');

    const only = await receiver(() => 200);
    const h2 = harness(only.url, { on: ['outcome'] });
    h2.send({ type: 'stall.detected', reason: 'x', window: 3, action: 'pause' });
    h2.send(ENDED);
    await vi.waitFor(() => expect(kinds(h2)).toEqual(['sent 200 x1']));
    expect(only.received.map((x) => (x.body as { kind: string }).kind)).toEqual(['outcome']);
  });

  it('drops notices past its bounded queue while a receiver hangs, and says so', async () => {
    const r = await receiver(() => 'hang');
    const h = harness(r.url, { maxQueue: 2, timeoutMs: 60_000, flushMs: 1 });
    for (let i = 0; i < 5; i++) h.send(ENDED);
    // One in flight, two queued, two dropped.
    await vi.waitFor(() => expect(r.received).toHaveLength(1));
    expect(kinds(h)).toEqual([
      'failed x0: dropped: 2 notifications were already waiting to be sent',
      'failed x0: dropped: 2 notifications were already waiting to be sent',
    ]);
    // Shutdown gives the hanging one a moment, then ends it.
    await h.job.stop();
    expect(kinds(h).filter((k) => k.includes('shut down'))).toHaveLength(3);
  });

  it('is off without a URL, and refuses a value that is not an http URL without repeating it', () => {
    const none = harness(undefined);
    none.send(ENDED);
    expect(none.job.active).toBe(false);
    expect(none.events).toEqual([]);
    const bad = harness('ftp://user:hunter22@example/x');
    expect(bad.job.active).toBe(false);
    expect(String(bad.errors[0])).toContain('LOOPS_NOTIFY_URL is not an http:// or https:// URL');
    expect(String(bad.errors[0])).not.toContain('hunter22');
  });

  it('on shutdown, a queued notice still goes out (loops run ends right after its run)', async () => {
    const r = await receiver(() => 200);
    const h = harness(r.url);
    h.send(ENDED);
    await h.job.stop();
    expect(r.received).toHaveLength(1);
    expect(kinds(h)).toEqual(['sent 200 x1']);
  });
});

describe('outbound notifications through the supervisor', () => {
  it('a hanging receiver does not hold the run back, and the URL is in no event or state file', async () => {
    repo = await makeRepo();
    await repo.addLoop(
      'quick',
      `---
name: quick
agent: { provider: scripted }
verify:
  - command: "true"
budget: { iterations: 1 }
sandbox: off
---
Be quick.
`,
      `turns:\n  - text: "done"\n    repeat: true\n`,
    );
    const r = await receiver(() => 'hang');
    const env = { ...process.env, LOOPS_NOTIFY_URL: r.url };
    const fleet = fleetFrom(defaultFleet(), env, { outbound: { timeoutMs: 60_000, flushMs: 1 } });
    const s = await Supervisor.open(repo.dir, { ...fleet.options, env, attended: true });
    supervisor = s;
    const events: LoopEvent[] = [];
    s.subscribe((e) => events.push(e));
    await fleet.addTo(s);

    const result = await s.start('quick');
    expect(result.outcome).toBe('verified');
    // The notice reached the receiver, which has not answered (and never will): the run is over anyway.
    await vi.waitFor(() => expect(r.received).toHaveLength(1));
    expect(r.open).toHaveLength(1);
    expect(r.received[0]?.body).toMatchObject({ kind: 'outcome', loop: 'quick', outcome: 'verified' });
    expect(events.some((e) => e.type === 'notify.sent')).toBe(false);

    await s.shutdown();
    supervisor = undefined;
    const failed = events.find((e) => e.type === 'notify.failed');
    expect(failed).toMatchObject({ source: 'fleet', loop: 'quick', about: 'outcome of quick' });

    const secret = new URL(r.url);
    const all = JSON.stringify(events);
    expect(all).not.toContain(secret.pathname);
    expect(all).not.toContain(`:${secret.port}`);
    // Nor anywhere in state/ (traces, index, summaries, spend).
    for (const file of await filesUnder(path.join(repo.dir, 'state'))) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toContain('xoxSecretToken');
      expect(text, file).not.toContain(`127.0.0.1:${secret.port}`);
    }
    expect(result.tracePath.startsWith(path.join(repo.dir, 'state'))).toBe(true);
  }, 90_000);
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    const info = await stat(file);
    if (info.isDirectory()) out.push(...(await filesUnder(file)));
    else if (info.isFile()) out.push(file);
  }
  return out;
}
