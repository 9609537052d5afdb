/**
 * Checking, before a CLI agent starts, that the endpoint loops pointed it at can be reached. Codex and
 * Claude Code retry an unreachable API for minutes (Codex waits for the network, Claude Code backs off
 * ten times) and say little meanwhile; one TCP connection tells at once whether anything listens there,
 * and a refusal becomes a connection error naming the URL and the setting it came from.
 *
 * Only an endpoint set on purpose is checked (agent.base_url, or a variable the CLI reads): the
 * default one is the vendor's, and with a proxy configured the CLI may reach what loops cannot, so no
 * check is made then.
 */
import net from 'node:net';
import { cliFailure, type CliFailureLabel, type Endpoint } from './cli-failure.js';
import { ProviderError } from './provider.js';

const PROXY_VARIABLES = ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY'];

/** How long one connection attempt may take: a routed but silent address is unreachable too. */
export const PROBE_TIMEOUT_MS = 5_000;

/** Whether the environment routes the CLI's traffic through a proxy (any case of the usual names). */
export function usesProxy(env: NodeJS.ProcessEnv): boolean {
  return Object.entries(env).some(
    ([name, value]) => PROXY_VARIABLES.includes(name.toUpperCase()) && (value ?? '').trim() !== '',
  );
}

/**
 * Undefined when something accepts a connection at the endpoint's host and port; else why not (the
 * system's error code and words). An aborted signal ends the attempt with "aborted".
 */
export function probeEndpoint(
  endpoint: Endpoint,
  signal?: AbortSignal,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    return Promise.resolve(`"${endpoint.url}" is not a URL`);
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  // An IPv6 literal comes bracketed in a URL, and bare to connect().
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (why: string | undefined): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(why);
    };
    const onAbort = (): void => finish('aborted');
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      finish(err.code ? `${err.code}: ${err.message}` : err.message);
    });
  });
}

/**
 * The check a CLI provider makes before it starts its agent: once per provider (a run), only for an
 * endpoint set on purpose and never through a proxy. A refusal is a retryable connection error
 * naming the endpoint; a stop while it waits is an abort.
 */
export class EndpointCheck {
  private reached = false;
  private readonly probe: boolean;

  constructor(
    private readonly label: CliFailureLabel,
    env: NodeJS.ProcessEnv,
  ) {
    this.probe = !usesProxy(env);
  }

  async check(signal: AbortSignal | undefined): Promise<void> {
    const endpoint = this.label.endpoint;
    if (!endpoint || !this.probe || this.reached) return;
    const why = await probeEndpoint(endpoint, signal);
    if (why === 'aborted' || signal?.aborted)
      throw new ProviderError(
        'aborted',
        `the call was stopped before ${this.label.title} started`,
        this.label.provider,
      );
    if (why !== undefined) {
      throw cliFailure(this.label, `nothing answers there (${why})`, { kind: 'connection', retryable: true });
    }
    this.reached = true;
  }
}
