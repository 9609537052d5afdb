/** loops' own version, for the telemetry resource (read once; the CLI reads it the same way). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function loopsVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return cached;
}
