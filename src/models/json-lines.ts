/** Reading the NDJSON event streams of CLI agents, where any field may be missing or of another type. */

export type JsonObject = Record<string, unknown>;

/** The object on one line; undefined for blank lines, log lines and anything that is not an object. */
export function parseJsonLine(line: string): JsonObject | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
