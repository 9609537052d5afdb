/**
 * A tool call whose arguments cannot be trusted to be what the model meant: not valid JSON, or cut off
 * before they ended (the response reached max_tokens mid-call). The model made it and was billed for
 * it, so it is not an error that ends the call: the provider returns it with this marker as its input,
 * and the agent loop answers it with a tool error instead of running it, so the model can call again.
 * A cut-off call is never run on a repaired guess of its input: a `write_file` whose content was cut
 * would empty the file, a `run` whose command was cut would run half of it.
 */

/** The marker's key: no tool's schema has a property named like this. */
export const INVALID_JSON_KEY = '__invalid_json__';

export interface InvalidToolInput {
  /** The arguments exactly as the model sent them. */
  [INVALID_JSON_KEY]: string;
  /** Why they do not parse (JSON.parse's message), or why they are not whole. */
  __parse_error__: string;
  /** The arguments were cut off by the response's end (max_tokens), whether or not they parse. */
  __truncated__?: true;
}

/** The model's arguments as a value; "" (sent by some servers for no arguments) is {}. */
export function parseToolArguments(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const marked: InvalidToolInput = { [INVALID_JSON_KEY]: raw, __parse_error__: message };
    return marked;
  }
}

/** The marker for arguments the response's end cut off: `raw` is what arrived, `reason` why it is not whole. */
export function truncatedToolInput(raw: string, reason: string): InvalidToolInput {
  return { [INVALID_JSON_KEY]: raw, __parse_error__: reason, __truncated__: true };
}

/** The marker, when `input` is one. */
export function invalidToolInput(input: unknown): InvalidToolInput | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const record = input as Record<string, unknown>;
  const raw: unknown = record[INVALID_JSON_KEY];
  const why: unknown = record.__parse_error__;
  if (typeof raw !== 'string' || typeof why !== 'string') return undefined;
  return {
    [INVALID_JSON_KEY]: raw,
    __parse_error__: why,
    ...(record.__truncated__ === true ? { __truncated__: true as const } : {}),
  };
}

/** What the model is told in the tool result. */
export function invalidInputMessage(invalid: InvalidToolInput): string {
  if (invalid.__truncated__) {
    return (
      `the arguments were cut off before they ended (${invalid.__parse_error__}), so nothing was run; ` +
      'call the tool again with complete arguments (write a long file in smaller parts)'
    );
  }
  return (
    `the arguments were not valid JSON: ${invalid.__parse_error__}; ` +
    'call the tool again with a JSON object'
  );
}
