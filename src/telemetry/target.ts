/** Where spans go, from the standard OpenTelemetry variables (no SDK import here: it is not needed to decide). */

export interface ExportTarget {
  url: string;
  /** From OTEL_EXPORTER_OTLP_HEADERS: often a token, so never logged or written anywhere. */
  headers: Record<string, string>;
}

/** Where to export, from the standard OpenTelemetry variables; undefined when export is off. */
export function exportTarget(env: NodeJS.ProcessEnv): ExportTarget | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url) return undefined;
  return {
    url,
    headers: parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS ?? ''),
  };
}

/** `key=value,key2=value2`, values URL-encoded, as the OpenTelemetry specification defines it. */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (key) headers[key] = decodeURIComponent(value);
  }
  return headers;
}
