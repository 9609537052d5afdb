/**
 * The webhook server through real HTTP on 127.0.0.1, in front of a real supervisor whose loop runs
 * on the scripted model: signatures as GitHub makes them, good, bad and missing; a replayed delivery;
 * bodies over the limit; wrong methods and unknown hooks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { webhookJob, webhookPort, type WebhookServer } from '../../src/triggers/webhook.js';
import { signatureMatches } from '../../src/triggers/webhook-request.js';
import { deliveriesFile } from '../../src/triggers/webhook-deliveries.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

const SECRET = "It's a Secret to Everybody";

const HOOKED = `---
name: hooked
agent: { provider: scripted }
trigger: { webhook: { secret_env: TEST_HOOK_SECRET, max_bytes: 2048 } }
verify:
  - command: "true"
budget: { iterations: 1 }
---
Look at the event and end your turn.
`;

const UNSET = `---
name: unset
agent: { provider: scripted }
trigger: { webhook: { secret_env: TEST_HOOK_UNSET } }
---
Never runs: its secret is not set.
`;

let repo: TestRepo;
let supervisor: Supervisor | undefined;
let server: WebhookServer | undefined;
let events: LoopEvent[] = [];
let errors: string[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  await repo.addLoop('hooked', HOOKED, 'turns:\n  - text: "Seen it."\n');
  await repo.addLoop('unset', UNSET, 'turns:\n  - text: "No."\n');
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  server = undefined;
  events = [];
  errors = [];
  await repo.cleanup();
});

async function open(): Promise<{ s: Supervisor; port: number }> {
  errors = [];
  supervisor = await Supervisor.open(repo.dir, {
    env: { ...process.env, TEST_HOOK_SECRET: SECRET, TEST_HOOK_UNSET: '' },
    onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
  });
  supervisor.subscribe((e) => events.push(e));
  server = webhookJob({ port: 0 });
  await supervisor.addJob(server);
  const port = server.port;
  if (port === undefined) throw new Error(`the server did not listen: ${errors.join('; ')}`);
  return { s: supervisor, port };
}

function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: Record<string, unknown>;
}

/** One request with the real HTTP client; `body` undefined sends headers only (and waits). */
function request(
  port: number,
  options: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    chunks?: Buffer[];
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/hooks/hooked',
        method: options.method ?? 'POST',
        headers: options.headers,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          });
        });
      },
    );
    req.on('error', reject);
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
    } else if (options.body !== undefined) req.end(options.body);
    else req.flushHeaders(); // headers only: the server must answer without the body
  });
}

function post(port: number, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return request(port, {
    body,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      ...headers,
    },
  });
}

async function until<T>(find: () => T | undefined): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function runEnded(run: string): Promise<LoopEvent> {
  return until(() => events.find((e) => e.type === 'run.ended' && e.run === run));
}

describe('signatures', () => {
  it('verifies GitHub’s own test vector', async () => {
    const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(sign('Hello, World!')).toBe(expected);
    expect(await signatureMatches(SECRET, Buffer.from('Hello, World!'), expected)).toBe(true);
    expect(await signatureMatches(SECRET, Buffer.from('Hello, World?'), expected)).toBe(false);
    expect(await signatureMatches('another secret', Buffer.from('Hello, World!'), expected)).toBe(false);
    expect(await signatureMatches(SECRET, Buffer.from('Hello, World!'), expected.toUpperCase())).toBe(false);
    expect(await signatureMatches(SECRET, Buffer.from('Hello, World!'), expected.slice(0, -2))).toBe(false);
    // Bytes that are not UTF-8 are not what GitHub signs: refused even with their own HMAC.
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const rawSig = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
    expect(await signatureMatches(SECRET, raw, rawSig)).toBe(false);
  });

  it('starts a run for a delivery signed exactly as GitHub signs it, with the payload in its context', async () => {
    const { s, port } = await open();
    const answer = await request(port, {
      body: 'Hello, World!',
      headers: {
        'Content-Type': 'text/plain',
        'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
        'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'X-GitHub-Event': 'push',
      },
    });
    expect(answer.status).toBe(202);
    expect(answer.json).toMatchObject({
      status: 'started',
      delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    });
    const run = answer.json.run as string;
    expect(run).toBeTruthy();
    const ended = await runEnded(run);
    expect(ended).toMatchObject({ loop: 'hooked', outcome: 'verified' });
    const started = events.find((e) => e.type === 'run.started' && e.run === run);
    expect(started?.type === 'run.started' && started.context).toMatchObject({
      kind: 'webhook',
      payload: {
        hook: 'hooked',
        delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        event: 'push',
        body: 'Hello, World!',
      },
    });
    expect(s.runIndex.lastRun('hooked')?.context?.payload?.body).toBe('Hello, World!');
    expect(events.find((e) => e.type === 'trigger.fired')).toMatchObject({
      source: 'trigger',
      trigger: 'webhook',
      status: 'started',
      target: run,
    });
  });

  it('refuses a bad or missing signature with 401, starts nothing, and records neither body nor signature', async () => {
    const { s, port } = await open();
    const body = JSON.stringify({ action: 'opened', secret_marker: 'BODY-MARKER' });
    const wrong = sign(body, 'not the secret');
    const answers = [
      await post(port, body, { 'X-Hub-Signature-256': wrong, 'X-GitHub-Delivery': 'd-1' }),
      await post(port, body, { 'X-GitHub-Delivery': 'd-2' }),
      await post(port, body, { 'X-Hub-Signature-256': sign(`${body} `) }),
      await post(port, body, { 'X-Hub-Signature-256': 'sha1=0123' }),
      await post(port, body, { 'X-Hub-Signature-256': sign(body).replace('sha256=', '') }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    const refused = events.filter((e) => e.type === 'webhook.refused');
    expect(refused).toHaveLength(5);
    expect(refused[0]).toMatchObject({ source: 'trigger', hook: 'hooked', status: 401, delivery: 'd-1' });
    expect(refused[1]?.type === 'webhook.refused' && refused[1].reason).toContain('no X-Hub-Signature-256');
    const recorded = JSON.stringify(events);
    expect(recorded).not.toContain('BODY-MARKER');
    expect(recorded).not.toContain(wrong.slice(7));
    expect(recorded).not.toContain(SECRET);
    expect(events.some((e) => e.type === 'run.started' || e.type === 'trigger.fired')).toBe(false);
    expect(s.snapshot().runs).toEqual([]);
    // After all that, a good one still goes through.
    const good = await post(port, body, { 'X-Hub-Signature-256': sign(body) });
    expect(good).toMatchObject({ status: 202, json: { status: 'started' } });
    await runEnded(good.json.run as string);
  });
});

describe('ping', () => {
  it('answers a signed ping with pong and starts nothing; an unsigned one is still refused', async () => {
    const { port } = await open();
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const ping = await post(port, body, { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Event': 'ping' });
    expect(ping).toMatchObject({ status: 200, json: { status: 'pong' } });
    const unsigned = await post(port, body, { 'X-GitHub-Event': 'ping' });
    expect(unsigned.status).toBe(401);
    expect(events.some((e) => e.type === 'run.started' || e.type === 'trigger.fired')).toBe(false);
  });
});

describe('replays', () => {
  it('ignores a repeated delivery id and a replayed body under another id, also after a restart', async () => {
    const { s, port } = await open();
    const body = JSON.stringify({ action: 'completed', n: 1 });
    const headers = { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Delivery': 'delivery-1' };
    const first = await post(port, body, headers);
    expect(first.json.status).toBe('started');
    await runEnded(first.json.run as string);
    const again = await post(port, body, headers);
    expect(again).toMatchObject({ status: 200, json: { status: 'duplicate' } });
    // The delivery header is not signed: a replayer changing or dropping it is caught by the body.
    const renamed = await post(port, body, { ...headers, 'X-GitHub-Delivery': 'delivery-forged' });
    expect(renamed.json.status).toBe('duplicate');
    const stripped = await post(port, body, { 'X-Hub-Signature-256': sign(body) });
    expect(stripped.json.status).toBe('duplicate');
    expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'trigger.fired' && e.status === 'skipped')).toHaveLength(3);

    // Remembered in state/, not only in memory.
    const saved = JSON.parse(await readFile(deliveriesFile(s.paths, 'hooked'), 'utf8')) as { ids: string[] };
    expect(saved.ids).toContain('id:delivery-1');
    expect(JSON.stringify(saved)).not.toContain(sign(body).slice(7));
    await s.shutdown();
    const reopened = await open();
    const afterRestart = await post(reopened.port, body, headers);
    expect(afterRestart.json.status).toBe('duplicate');
    // A new delivery with a new body still runs.
    const other = JSON.stringify({ action: 'completed', n: 2 });
    const fresh = await post(reopened.port, other, {
      'X-Hub-Signature-256': sign(other),
      'X-GitHub-Delivery': 'delivery-2',
    });
    expect(fresh.json.status).toBe('started');
    await runEnded(fresh.json.run as string);
  });

  it('lets a redelivery of a refused start try again', async () => {
    const { s, port } = await open();
    const body = JSON.stringify({ n: 'busy' });
    const headers = { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Delivery': 'delivery-busy' };
    // While the loop is queued behind a manual start, its second start is refused (already queued).
    s.send({ type: 'start', loop: 'hooked' });
    s.send({ type: 'start', loop: 'hooked', overlap: 'queue' });
    const refused = await post(port, body, headers);
    // The overlap rule let it go: a skip, not a failure, and not remembered as taken.
    expect(refused.json).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('dropped') as string,
    });
    await until(() => (s.isRunning('hooked') || s.snapshot().queue.length > 0 ? undefined : true));
    const retried = await post(port, body, headers);
    expect(retried.json.status).toBe('started');
    await runEnded(retried.json.run as string);
  });
});

describe('limits and wrong requests', () => {
  it('refuses a body over max_bytes with 413: by its declared length before reading it, or as it streams', async () => {
    const { port } = await open();
    // Headers only, declaring 1 MB: the answer comes without a byte of the body sent.
    const declared = await request(port, {
      headers: { 'Content-Length': String(1024 * 1024), 'X-Hub-Signature-256': sign('x') },
    });
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    // No declared length (chunked): cut off once it passes the limit.
    const big = Buffer.alloc(3000, 'a');
    const streamed = await request(port, {
      headers: { 'X-Hub-Signature-256': sign(big.toString()) },
      chunks: [big.subarray(0, 1500), big.subarray(1500)],
    });
    expect(streamed.status).toBe(413);
    expect(events.filter((e) => e.type === 'webhook.refused' && e.status === 413)).toHaveLength(2);
    expect(events.some((e) => e.type === 'run.started')).toBe(false);
    // Exactly at the limit is fine.
    const edge = JSON.stringify({ pad: 'b'.repeat(2048 - 10) });
    expect(Buffer.byteLength(edge)).toBe(2048);
    const ok = await post(port, edge, { 'X-Hub-Signature-256': sign(edge) });
    expect(ok.status).toBe(202);
    await runEnded(ok.json.run as string);
  });

  it('answers 405 to other methods, 404 to unknown hooks and loops without a webhook', async () => {
    const { port } = await open();
    const get = await request(port, { method: 'GET', body: '' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const body = '{}';
    const headers = { 'X-Hub-Signature-256': sign(body) };
    expect(await post(port, body, headers).then((a) => a)).toMatchObject({ status: 202 });
    for (const path of [
      '/hooks/nope',
      '/hooks/fix-tests',
      '/hooks/',
      '/hooks/hooked/extra',
      '/other',
      '/hooks/..%2Fhooked',
    ])
      expect((await request(port, { path, body, headers })).status, path).toBe(404);
  });

  it('answers 503 for a hook whose secret variable is unset, and says so at start', async () => {
    const { port } = await open();
    expect(errors.join('\n')).toContain('TEST_HOOK_UNSET is not set');
    const body = '{}';
    const answer = await request(port, {
      path: '/hooks/unset',
      body,
      headers: { 'X-Hub-Signature-256': sign(body, '') },
    });
    expect(answer.status).toBe(503);
    // The answer does not name the variable to whoever asks; the event does.
    expect(JSON.stringify(answer.json)).not.toContain('TEST_HOOK_UNSET');
    expect(events.find((e) => e.type === 'webhook.refused')).toMatchObject({ hook: 'unset', status: 503 });
  });
});

describe('the port', () => {
  it('comes from the option, else LOOPS_WEBHOOK_PORT, else 8787; a bad value names its source', () => {
    expect(webhookPort(0, { LOOPS_WEBHOOK_PORT: '9000' })).toBe(0);
    expect(webhookPort(undefined, { LOOPS_WEBHOOK_PORT: '9000' })).toBe(9000);
    expect(webhookPort(undefined, {})).toBe(8787);
    expect(() => webhookPort(undefined, { LOOPS_WEBHOOK_PORT: 'eighty' })).toThrow(
      /LOOPS_WEBHOOK_PORT="eighty"/,
    );
    expect(() => webhookPort(70000, {})).toThrow(/not a port/);
  });
});
