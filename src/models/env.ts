/** Reading a provider's settings from the run's environment, never from process.env directly. */
import { ProviderError } from './provider.js';

/** A variable set to blanks counts as unset. */
export function readVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return nonEmpty(env[name]);
}

/**
 * The base URL from the loop's setting, else from `variable`; undefined when neither is set. A value
 * that is not an http(s) URL is a config error naming where it came from.
 */
export function baseUrlFrom(
  setting: string | undefined,
  env: NodeJS.ProcessEnv,
  variable: string,
  provider: string,
): string | undefined {
  const fromSetting = nonEmpty(setting);
  const value = fromSetting ?? readVar(env, variable);
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    const source = fromSetting === undefined ? variable : 'agent.base_url';
    throw new ProviderError(
      'config',
      `${source} is "${value}", which is not a URL; set it to one that starts with http:// or https://`,
      provider,
    );
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
