/**
 * What a CLI agent's own failure means. Codex and Claude Code report a failed turn as a sentence (an
 * `error` / `turn.failed` event, a `result` with is_error, or stderr), not as a status code, so the kind
 * is read from the words: a refused login is not worth a retry, a rate limit is, and an endpoint that
 * cannot be reached is named, with where its URL came from, so the fix is plain.
 */
import type { Classified } from './errors.js';
import { ProviderError } from './provider.js';

/** An endpoint a CLI agent was pointed at, and the setting that did it (agent.base_url, a variable). */
export interface Endpoint {
  url: string;
  source: string;
}

export interface CliFailureLabel {
  /** The provider name (codex, claude-code). */
  provider: string;
  /** How people call it (Codex, Claude Code). */
  title: string;
  /** Where its credentials come from, named when they are refused. */
  login: string;
  endpoint?: Endpoint;
}

const AUTH =
  /\b(401|403)\b|unauthori[sz]ed|forbidden|invalid[ _-]?(api[ _-]?)?key|incorrect api key|authentication|not logged in|\/login|log ?in again|token (has )?expired|refresh token|permission_error|billing/i;
/** A spent quota or plan limit: waiting seconds does not help. */
const QUOTA = /usage limit|quota|insufficient_quota|hit your .*limit|credit balance/i;
const RATE = /\b429\b|rate[ _-]?limit|too many requests/i;
const OVERLOADED = /overloaded|\b529\b|high demand/i;
const CONNECTION =
  /error sending request|connection (refused|reset|error|failed|closed)|econnrefused|econnreset|enotfound|eai_again|getaddrinfo|dns error|failed to lookup|could not resolve|tcp connect|network (is )?unreachable|fetch failed|stream disconnected|unable to connect|failed to connect|waiting for network|socket hang up/i;
const CONTEXT = /context window|context[ _-]length|maximum context|prompt is too long/i;
const SERVER = /\b5\d\d\b|internal server error|server error|service unavailable|bad gateway/i;

/** The kind of a CLI agent's failure, from what it said. */
export function classifyCliMessage(text: string): Classified {
  if (AUTH.test(text)) return { kind: 'auth', retryable: false };
  if (QUOTA.test(text)) return { kind: 'rate_limit', retryable: false };
  if (RATE.test(text)) return { kind: 'rate_limit', retryable: true };
  if (OVERLOADED.test(text)) return { kind: 'overloaded', retryable: true };
  if (CONNECTION.test(text)) return { kind: 'connection', retryable: true };
  if (CONTEXT.test(text)) return { kind: 'bad_request', retryable: false };
  if (SERVER.test(text)) return { kind: 'server', retryable: true };
  return { kind: 'server', retryable: false };
}

/** A ProviderError for a failure the CLI reported in `detail` (already cut of secrets). */
export function cliFailure(
  label: CliFailureLabel,
  detail: string,
  classified: Classified = classifyCliMessage(detail),
): ProviderError {
  const { kind, retryable } = classified;
  return new ProviderError(kind, `${headline(label, kind)}: ${detail}`, label.provider, retryable);
}

function headline(label: CliFailureLabel, kind: Classified['kind']): string {
  switch (kind) {
    case 'auth':
      return `${label.title} was refused its credentials; check ${label.login}`;
    case 'rate_limit':
      return `${label.title} hit a rate or usage limit; wait, or run fewer loops at once`;
    case 'overloaded':
      return `${label.title}'s model API is overloaded; try again later`;
    case 'connection':
      return label.endpoint
        ? `${label.title} could not reach its model API at ${label.endpoint.url} (${label.endpoint.source}); check that it runs and the URL is right`
        : `${label.title} could not reach its model API; check the network`;
    case 'bad_request':
      return `${label.title}'s model API rejected the request`;
    default:
      return `${label.title} failed`;
  }
}
