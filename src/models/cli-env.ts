/**
 * What a CLI agent (claude, codex, any command) may see of the user's environment, and what of it
 * must never come back. The agent runs tools of its own, whose output reaches the trace and the model:
 * it gets the scrubbed environment the `run` tool gets (HOME and PATH included), plus only its own
 * credentials and configuration, and any secret the user's environment holds is cut out of what it
 * reports before that is emitted.
 */
import { MIN_SECRET_LENGTH, scrubEnv, secretValues } from '../process/env.js';
import type { ProviderEvent } from './provider.js';

/** Names or name prefixes (ending in `*`) of a provider's own variables, passed through the scrub. */
export type EnvAllowlist = readonly string[];

export const CLAUDE_CODE_ENV: EnvAllowlist = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'CLAUDE_CONFIG_DIR',
  'CLAUDE_CODE_*',
];

export const CODEX_ENV: EnvAllowlist = ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'CODEX_HOME'];

/** The child's whole environment: `env` without credentials, plus the allowed variables. */
export function cliEnv(env: NodeJS.ProcessEnv, allow: EnvAllowlist): Record<string, string> {
  const out = scrubEnv(env);
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && allowed(name, allow)) out[name] = value;
  }
  return out;
}

function allowed(name: string, allow: EnvAllowlist): boolean {
  return allow.some((entry) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry));
}

/** Cuts the values of the secret-named variables of an environment out of text. */
export class Redactor {
  private readonly secrets: string[];

  /** `named`: variables whose values are cut out whatever their names (an MCP server's `env:`). */
  constructor(env: NodeJS.ProcessEnv, named: readonly string[] = []) {
    const chosen = named.flatMap((name) => {
      const value = env[name];
      return value !== undefined && value.length >= MIN_SECRET_LENGTH ? [value] : [];
    });
    // Longest first, so a secret that contains another is cut out whole.
    this.secrets = [...new Set([...secretValues(env), ...chosen])].sort((a, b) => b.length - a.length);
  }

  text(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** Every string inside a JSON-like value (a tool call's input). */
  value(value: unknown): unknown {
    if (this.secrets.length === 0) return value;
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.value(item)]));
    }
    return value;
  }

  /** An event with the secrets cut out of what the agent reports (usage passes as it is). */
  event(event: ProviderEvent): ProviderEvent {
    switch (event.kind) {
      case 'text':
        return { ...event, text: this.text(event.text) };
      case 'tool.call':
        return { ...event, input: this.value(event.input) };
      case 'tool.result':
        return { ...event, output: this.text(event.output) };
      case 'usage':
        return event;
    }
  }

  /** `onEvent`, redacting on the way through. */
  events(
    onEvent: ((event: ProviderEvent) => void) | undefined,
  ): ((event: ProviderEvent) => void) | undefined {
    return onEvent && ((event) => onEvent(this.event(event)));
  }
}
