/**
 * A tool call whose arguments are not valid JSON. The model made it and was billed for it, so it is
 * not an error that ends the call: the provider returns it with this marker as its input, and the
 * agent loop answers it with a tool error instead of running it, so the model can call again.
 */

/** The marker's key: no tool's schema has a property named like this. */
export const INVALID_JSON_KEY = '__invalid_json__';

export interface InvalidToolInput {
  /** The arguments exactly as the model sent them. */
  [INVALID_JSON_KEY]: string;
  /** Why they do not parse (JSON.parse's message). */
  __parse_error__: string;
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

/** The marker, when `input` is one. */
export function invalidToolInput(input: unknown): InvalidToolInput | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const raw: unknown = (input as Record<string, unknown>)[INVALID_JSON_KEY];
  const why: unknown = (input as Record<string, unknown>).__parse_error__;
  if (typeof raw !== 'string' || typeof why !== 'string') return undefined;
  return { [INVALID_JSON_KEY]: raw, __parse_error__: why };
}

/** What the model is told in the tool result. */
export function invalidInputMessage(invalid: InvalidToolInput): string {
  return (
    `the arguments were not valid JSON: ${invalid.__parse_error__}; ` +
    'call the tool again with a JSON object'
  );
}
