/**
 * The environment the agent's commands and the graders see: the user's, minus anything that
 * looks like a credential. The agent can print its environment, and whatever it sees can end up
 * in a trace, in state/ (which is committed) or in a model provider's logs.
 */

const SECRET_NAMES: readonly RegExp[] = [
  /^ANTHROPIC_/i,
  /^OPENAI_/i,
  /^AWS_/i,
  /^AZURE_/i,
  /^GITHUB_TOKEN$/i,
  /^GH_/i,
  /^GOOGLE_APPLICATION_CREDENTIALS$/i,
  /API_?KEY/i,
  /SECRET/i,
  /PASSWORD/i,
  /PASSWD/i,
  /TOKEN$/i,
  /_KEY$/i,
  /_CREDENTIALS?$/i,
  /_AUTH$/i,
  // Outbound notification URLs (fleet/file.ts notify.url_env): a webhook URL is its own credential.
  /NOTIFY_URL$/i,
  /WEBHOOK_URL$/i,
];

/** Whether a name looks like a credential's by itself (fleet/file.ts requires it of notify.url_env). */
export function looksLikeSecretName(name: string): boolean {
  return SECRET_NAMES.some((pattern) => pattern.test(name));
}

/**
 * Variables that loops' own files declare as holding a secret (a loop's trigger.webhook.secret_env,
 * the fleet's notify.url_env), whatever they are called: added as those files load, and dropped from
 * every environment scrubEnv makes from then on. A webhook secret the agent could read would let it
 * sign deliveries that start its own loop.
 */
const declaredSecrets = new Set<string>();

export function declareSecretName(name: string): void {
  declaredSecrets.add(name);
}

export function isSecretName(name: string): boolean {
  return declaredSecrets.has(name) || looksLikeSecretName(name);
}

/** A value shorter than this is too likely to occur by chance to be treated as a secret. */
export const MIN_SECRET_LENGTH = 8;

/** The values of `env`'s secret-named variables, longest first (so one containing another is found whole). */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = Object.entries(env).flatMap(([name, value]) =>
    value !== undefined && value.length >= MIN_SECRET_LENGTH && isSecretName(name) ? [value] : [],
  );
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

/**
 * A copy of `env` without credentials and without unset entries. A credential is recognised by its
 * name, and also by its value: a variable with an innocent name (DB_URL, PGPASS_COPY) that holds or
 * embeds the value of a secret-named one is dropped too. CI and the rest are left as they are.
 */
export function scrubEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const secrets = secretValues(env);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isSecretName(name)) continue;
    if (secrets.some((secret) => value.includes(secret))) continue;
    out[name] = value;
  }
  return out;
}
