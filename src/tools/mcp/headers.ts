/**
 * `headers:` of a streamable HTTP MCP server: HTTP headers sent with every request, whose values may
 * name variables of loops' own environment as `${NAME}` (`Authorization: "Bearer ${GITHUB_TOKEN}"`).
 * A named variable must be listed in the server's `env:`, so LOOP.md says which secrets leave loops,
 * and the value itself never appears in LOOP.md. The checks here are the schema's (core/definition);
 * the expansion is the connector's, at run start.
 */

/** `${NAME}`, NAME as a shell would accept it. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A header name as HTTP allows it (an RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Header names that carry credentials: their values must come from a variable, never LOOP.md. */
const SECRET_HEADER = /auth|token|key|secret|cookie|session|password/i;

/** The variables a header value names, in order. */
export function headerReferences(value: string): string[] {
  return [...value.matchAll(REFERENCE)].map((m) => m[1] ?? '');
}

export interface HeaderProblem {
  /** The field under the server: ['headers', NAME] or ['env'] or ['headers']. */
  path: Array<string | number>;
  message: string;
}

/** What is wrong with a server's headers and env together; empty when nothing is. */
export function headerProblems(server: {
  command?: string | undefined;
  url?: string | undefined;
  env: readonly string[];
  headers?: Readonly<Record<string, string>> | undefined;
}): HeaderProblem[] {
  const headers = server.headers ?? {};
  const names = Object.keys(headers);
  const problems: HeaderProblem[] = [];
  if (server.command !== undefined && names.length > 0) {
    problems.push({
      path: ['headers'],
      message:
        'headers are sent to a streamable HTTP server (url); a stdio server (command) gets none: ' +
        'pass it variables with env: instead',
    });
    return problems;
  }
  const used = new Set<string>();
  for (const name of names) {
    const value = headers[name] ?? '';
    const refs = headerReferences(value);
    for (const ref of refs) {
      used.add(ref);
      if (!server.env.includes(ref))
        problems.push({
          path: ['headers', name],
          message: `\${${ref}} is not in this server's env: list it there (env: [${ref}]) so loops passes it`,
        });
    }
    if (value.replace(REFERENCE, '').includes('$'))
      problems.push({
        path: ['headers', name],
        message: 'write a variable as ${NAME} (letters, digits and _), e.g. "Bearer ${GITHUB_TOKEN}"',
      });
    if (refs.length === 0 && SECRET_HEADER.test(name))
      problems.push({
        path: ['headers', name],
        message:
          `${name} carries a credential: its value must come from loops' environment, never LOOP.md; ` +
          `write it as e.g. "Bearer \${TOKEN}" with TOKEN in env:`,
      });
  }
  if (server.url !== undefined) {
    const unused = server.env.filter((name) => !used.has(name));
    if (unused.length > 0)
      problems.push({
        path: ['env'],
        message:
          `${unused.join(', ')} would reach no header: an HTTP server gets loops' variables only through ` +
          `headers:, e.g. headers: { Authorization: "Bearer \${${unused[0] ?? 'TOKEN'}}" }`,
      });
  }
  return problems;
}

/** The headers with each `${NAME}` replaced by its value (the connector has checked each is set). */
export function expandHeaders(
  headers: Readonly<Record<string, string>>,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = value.replace(REFERENCE, (_, ref: string) => values[ref] ?? '');
  return out;
}
