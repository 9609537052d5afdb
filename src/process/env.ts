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
];

export function isSecretName(name: string): boolean {
  return SECRET_NAMES.some((pattern) => pattern.test(name));
}

/** A copy of `env` without credentials and without unset entries. CI and the rest are left as they are. */
export function scrubEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isSecretName(name)) continue;
    out[name] = value;
  }
  return out;
}
