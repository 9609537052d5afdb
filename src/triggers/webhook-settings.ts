/**
 * A loop's webhook settings with the defaults filled in (`webhook: true` takes them all), and the one
 * check that depends on where loops runs: is the secret's variable set in this environment?
 */
import type { LoopDefinition } from '../core/definition/schema.js';

export interface WebhookSettings {
  secret_env: string;
  max_bytes: number;
}

export const DEFAULT_SECRET_ENV = 'LOOPS_WEBHOOK_SECRET';
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export function webhookSettings(def: LoopDefinition): WebhookSettings {
  const hook = def.trigger.webhook;
  if (hook === undefined || hook === true)
    return { secret_env: DEFAULT_SECRET_ENV, max_bytes: DEFAULT_MAX_BYTES };
  return { secret_env: hook.secret_env, max_bytes: hook.max_bytes };
}

/** What to say when the loop's webhook secret is missing from `env`; undefined when it is there. */
export function missingSecretWarning(def: LoopDefinition, env: NodeJS.ProcessEnv): string | undefined {
  if (def.trigger.webhook === undefined) return undefined;
  const { secret_env } = webhookSettings(def);
  const value = env[secret_env];
  if (value !== undefined && value !== '') return undefined;
  return `trigger.webhook: the secret variable ${secret_env} is not set in this environment; POST /hooks/${def.name} answers 503 until loops is started with it`;
}
