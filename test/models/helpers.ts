import type { ModelRequest, ToolSpec } from '../../src/models/provider.js';
import { ProviderError } from '../../src/models/provider.js';

export const READ_FILE: ToolSpec = {
  name: 'read_file',
  description: 'Read a file in the worktree',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

export const RUN: ToolSpec = {
  name: 'run',
  description: 'Run a shell command in the worktree',
  inputSchema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
};

export function makeRequest(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    model: 'test-model',
    system: 'You fix failing tests.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'The tests fail. Fix them.' }] }],
    tools: [],
    maxTokens: 1024,
    step: 'work',
    ...overrides,
  };
}

/** A request that ends with a tool round trip: the assistant called read_file, the result came back. */
export function toolRoundTripRequest(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return makeRequest({
    tools: [READ_FILE, RUN],
    cacheKey: 'loop:fix-tests',
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'The tests fail. Fix them.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Reading the test.' },
          { type: 'tool_use', id: 'tool_a', name: 'read_file', input: { path: 'test/math.test.js' } },
          { type: 'tool_use', id: 'tool_b', name: 'run', input: { command: 'npm test' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Instruction from a person: be brief.' },
          { type: 'tool_result', toolUseId: 'tool_a', content: 'expect(add(1, 2)).toBe(3)', isError: false },
          { type: 'tool_result', toolUseId: 'tool_b', content: 'exit 1: 1 failing', isError: true },
        ],
      },
    ],
    ...overrides,
  });
}

/** The ProviderError a promise rejects with (fails the test if it resolves or throws something else). */
export async function providerErrorOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw new Error(`expected a ProviderError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a ProviderError, but the call succeeded');
}

export function syncProviderErrorOf(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw new Error(`expected a ProviderError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a ProviderError, but the call succeeded');
}
