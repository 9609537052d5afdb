/**
 * The webhook trigger: an HTTP server on 127.0.0.1 that takes `POST /hooks/NAME` for each loop with
 * `trigger.webhook`, signed in GitHub's format (`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw
 * body>`) with the secret in the environment variable the loop names (`secret_env`). A GitHub webhook
 * reaches it through a tunnel (docs/webhooks.md).
 *
 * What it answers, in the order it checks:
 * - 404 for any other path, for a loop that does not exist or has no webhook trigger (the same answer:
 *   the server does not tell which loops exist);
 * - 405 for anything but POST;
 * - 503 when the secret variable is not set (said at start and by `loops validate` too);
 * - 401 for a missing or bad signature: nothing starts, and a `webhook.refused` event says so
 *   (without the body or the signature);
 * - 413 for a body over `max_bytes`, refused from its declared length before it is read, or as soon
 *   as a streamed body passes the limit;
 * - 200 `pong` for GitHub's `ping` event, once signed: the hook is set up right; it starts nothing;
 * - 200 `duplicate` for a delivery already taken (its id or its signed body seen before: see
 *   webhook-deliveries.ts), persisted across restarts;
 * - 202 with the start's reply (`started`, `queued`, `refused`) as JSON; for a loop with
 *   `trigger.triage`, 202 `accepted` at once (senders time out within seconds; the triage model
 *   decides after, and `trigger.fired` says what became of it).
 *
 * The payload reaches the run's context (`TriggerContext.payload`), the place the agent is shown as
 * untrusted event data. The port: the job's option (the fleet file, when it is wired), else
 * `LOOPS_WEBHOOK_PORT`, else 8787.
 */
import http from 'node:http';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import { triageThenStart, type TriageOptions, type TriggerStart } from './triage.js';
import { DeliveryLog } from './webhook-deliveries.js';
import {
  bodyKey,
  deliveryId,
  eventName,
  parseBody,
  readBody,
  signatureHeader,
  signatureMatches,
  webhookContext,
} from './webhook-request.js';
import { missingSecretWarning, webhookSettings } from './webhook-settings.js';

export const DEFAULT_WEBHOOK_PORT = 8787;
export const WEBHOOK_PORT_ENV = 'LOOPS_WEBHOOK_PORT';
/** Only this machine: a tunnel (or a reverse proxy) is how the outside reaches it. */
const HOST = '127.0.0.1';

export interface WebhookOptions {
  /** The port to listen on (0: any free one); default LOOPS_WEBHOOK_PORT, else 8787. */
  port?: number;
  /** How the triage call is made (tests give a price table or a provider). */
  triage?: TriageOptions;
}

/** The port from the option, else the environment, else the default; a bad value is an error naming it. */
export function webhookPort(option: number | undefined, env: NodeJS.ProcessEnv): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 0 || option > 65535)
      throw new Error(`webhook port ${option} is not a port number (0-65535)`);
    return option;
  }
  const raw = env[WEBHOOK_PORT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_WEBHOOK_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535)
    throw new Error(`${WEBHOOK_PORT_ENV}=${JSON.stringify(raw)} is not a port number (0-65535)`);
  return port;
}

type Reply = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

export class WebhookServer implements SupervisorJob {
  readonly name = 'webhook server';
  private ctx: JobContext | undefined;
  private server: http.Server | undefined;
  private listening: Promise<void> | undefined;
  private deliveries: DeliveryLog | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Loops whose missing secret was already reported (once each, again after it was fixed). */
  private readonly warned = new Set<string>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: WebhookOptions = {}) {}

  /** The port it listens on, once it does. */
  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  async start(ctx: JobContext): Promise<void> {
    this.ctx = ctx;
    this.deliveries = new DeliveryLog(ctx.paths);
    this.unsubscribe = ctx.subscribe((event) => {
      if (event.type !== 'loops.changed') return;
      this.checkSecrets();
      void this.listenIfNeeded();
    });
    this.checkSecrets();
    await this.listenIfNeeded();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    // Triage calls in flight end with the supervisor's signal; their delivery records are written.
    await Promise.allSettled([...this.inFlight]);
    await this.deliveries?.settled();
  }

  private webhookLoops(): LoopDefinition[] {
    return (this.ctx?.definitions() ?? []).filter((d) => d.trigger.webhook !== undefined);
  }

  /** A webhook whose secret variable is unset answers 503: said once at start (and after a reload). */
  private checkSecrets(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    for (const def of this.webhookLoops()) {
      const warning = missingSecretWarning(def, ctx.env);
      if (warning === undefined) this.warned.delete(def.name);
      else if (!this.warned.has(def.name)) {
        this.warned.add(def.name);
        ctx.reportError(new Error(`${def.name}: ${warning}`));
      }
    }
  }

  /** Listens once some loop has a webhook (none: no port is taken). */
  private listenIfNeeded(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx || this.listening || ctx.signal.aborted || this.webhookLoops().length === 0)
      return this.listening ?? Promise.resolve();
    let port: number;
    try {
      port = webhookPort(this.options.port, ctx.env);
    } catch (err) {
      ctx.reportError(err);
      return Promise.resolve();
    }
    const server = http.createServer((req, res) => this.serve(req, res));
    // A slow sender cannot hold a connection open for long.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    this.server = server;
    this.listening = new Promise<void>((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? `port ${port} on ${HOST} is in use: set ${WEBHOOK_PORT_ENV} to a free port`
            : err.message;
        ctx.reportError(new Error(`the webhook server could not listen: ${why}`));
        this.server = undefined;
        resolve();
      });
      server.listen(port, HOST, () => resolve());
    });
    return this.listening;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const handled = this.handle(req, res)
      .then((reply) => send(res, reply))
      .catch((err: unknown) => {
        this.ctx?.reportError(err);
        send(res, { status: 500, body: { error: 'the webhook could not be handled; see loops’ log' } });
      });
    this.track(handled);
  }

  private track(promise: Promise<unknown>): void {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<Reply> {
    const ctx = this.ctx;
    const deliveries = this.deliveries;
    if (!ctx || !deliveries) return { status: 503, body: { error: 'loops is not ready' } };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = /^\/hooks\/([^/]+)\/?$/.exec(path);
    if (!match) return { status: 404, body: { error: 'not found: webhooks are POST /hooks/NAME' } };
    if (req.method !== 'POST')
      return { status: 405, body: { error: 'use POST' }, headers: { Allow: 'POST' } };
    const name = match[1] ?? '';
    const def = this.webhookLoops().find((d) => d.name === name);
    if (!def) return { status: 404, body: { error: 'no webhook by that name' } };
    const settings = webhookSettings(def);
    const refuse = (status: number, reason: string, shown: string, delivery?: string): Reply => {
      ctx.emit('trigger', def.name, {
        type: 'webhook.refused',
        hook: def.name,
        status,
        reason,
        ...(delivery === undefined ? {} : { delivery }),
      });
      return { status, body: { error: shown } };
    };
    const delivery = deliveryId(req);
    const secret = ctx.env[settings.secret_env];
    if (secret === undefined || secret === '')
      return refuse(
        503,
        `the secret variable ${settings.secret_env} is not set in loops' environment`,
        'this webhook has no secret configured',
        delivery,
      );
    const signature = signatureHeader(req);
    if (signature === undefined)
      return refuse(401, 'no X-Hub-Signature-256 header', 'missing signature', delivery);
    const read = await readBody(req, settings.max_bytes);
    if (read.kind === 'aborted') return { status: 400, body: { error: 'the request was cut off' } };
    if (read.kind === 'too-large') {
      res.setHeader('Connection', 'close');
      return refuse(
        413,
        `the body is over max_bytes (${settings.max_bytes} bytes)`,
        `body over ${settings.max_bytes} bytes`,
        delivery,
      );
    }
    if (read.body.length === 0) return refuse(400, 'an empty body', 'empty body', delivery);
    if (!(await signatureMatches(secret, read.body, signature)))
      return refuse(401, 'the signature does not match the body', 'bad signature', delivery);

    // GitHub's ping checks that the hook is set up (the secret matches): answered, never a run.
    if (eventName(req) === 'ping')
      return { status: 200, body: { status: 'pong', reason: 'the signature matches; ping starts no run' } };
    // Signed: a duplicate is told so and starts nothing; a new delivery is claimed while it is handled.
    const keys = [...(delivery === undefined ? [] : [`id:${delivery}`]), bodyKey(read.body)];
    const fresh =
      delivery === undefined
        ? !(await deliveries.seen(def.name, keys))
        : await deliveries.claim(def.name, keys);
    if (!fresh) {
      ctx.emit('trigger', def.name, {
        type: 'trigger.fired',
        trigger: 'webhook',
        detail: `webhook delivery ${delivery ?? '(no id)'}`,
        status: 'skipped',
        reason: 'a repeated delivery: already taken',
      });
      return { status: 200, body: { status: 'duplicate', reason: 'this delivery was already taken' } };
    }
    const event = eventName(req);
    const context = webhookContext(def.name, {
      ...parseBody(read.body, req.headers['content-type']),
      ...(delivery === undefined ? {} : { delivery }),
      ...(event === undefined ? {} : { event }),
    });
    const settle = async (start: TriggerStart): Promise<void> => {
      if (delivery === undefined) return;
      // A start refused or dropped may be redelivered; one taken (started, queued, triaged away) may not.
      if (start.reply && !start.reply.ok) await deliveries.release(def.name, keys);
      else await deliveries.keep(def.name, keys);
    };
    const started = triageThenStart(ctx, def, context, {
      trigger: 'webhook',
      ...(this.options.triage ? { triage: this.options.triage } : {}),
    }).then(
      async (start) => {
        await settle(start);
        return start;
      },
      async (err: unknown) => {
        // Nothing was taken: a redelivery may try again.
        await deliveries.release(def.name, keys);
        throw err;
      },
    );
    if (def.trigger.triage !== undefined) {
      // The sender does not wait for a model call; the outcome is in trigger.fired.
      this.track(started.catch((err: unknown) => ctx.reportError(err)));
      return {
        status: 202,
        body: {
          status: 'accepted',
          reason: 'the triage model decides whether it runs',
          ...(delivery === undefined ? {} : { delivery }),
        },
      };
    }
    const start = await started;
    return {
      status: 202,
      body: {
        status: start.status,
        reason: start.reason,
        ...(start.reply?.run === undefined ? {} : { run: start.reply.run }),
        ...(start.reply ? { command: start.reply.id } : {}),
        ...(delivery === undefined ? {} : { delivery }),
      },
    };
  }
}

function send(res: http.ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
  res.end(`${JSON.stringify(reply.body)}\n`);
}

/** The webhook server as a supervisor job (`supervisor.addJob(webhookJob())`). */
export function webhookJob(options: WebhookOptions = {}): WebhookServer {
  return new WebhookServer(options);
}
