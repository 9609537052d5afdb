import { BudgetTracker } from '../../src/core/budget/caps.js';
import { loopFrontMatterSchema, type LoopDefinition } from '../../src/core/definition/schema.js';
import type { LoopEvent } from '../../src/core/events.js';
import { RunControl } from '../../src/core/run/control.js';
import { createEmitter, type Emitter } from '../../src/core/run/emitter.js';
import { ModelCaller, type Pricer } from '../../src/core/run/model-caller.js';
import type { ModelProvider, ModelRequest, ToolSpec } from '../../src/models/provider.js';
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

/** A loop definition for tests that need one (the ModelCaller reads its name, model, route and caps). */
export function makeDefinition(front: Record<string, unknown> = {}, model = 'test-model'): LoopDefinition {
  const parsed = loopFrontMatterSchema.parse({ name: 'demo', ...front });
  return { ...parsed, model, task: 'Fix the tests.', dir: '/nowhere', file: '/nowhere/LOOP.md', skills: [] };
}

export interface CallerHarness {
  caller: ModelCaller;
  events: LoopEvent[];
  control: RunControl;
  budget: BudgetTracker;
  emitter: Emitter;
  of<T extends LoopEvent['type']>(type: T): Array<Extract<LoopEvent, { type: T }>>;
}

/** A ModelCaller wired to real engine parts (budget, control, emitter), collecting what it emits. */
export function makeCaller(
  provider: ModelProvider,
  opts: {
    front?: Record<string, unknown>;
    price?: Pricer;
    worktree?: string;
    model?: string;
    /** The wait before a retry when the API names none; no wait by default, to keep tests fast. */
    backoff?: (attempt: number) => number;
  } = {},
): CallerHarness {
  const definition = makeDefinition(opts.front, opts.model);
  const events: LoopEvent[] = [];
  const emitter = createEmitter('demo', 'r1', (event) => events.push(event));
  emitter.setIteration(1);
  const control = new RunControl();
  const budget = new BudgetTracker(definition.budget);
  const caller = new ModelCaller({
    provider,
    definition,
    budget,
    control,
    emitter,
    price: opts.price ?? (() => null),
    backoff: opts.backoff ?? (() => 0),
    ...(opts.worktree === undefined ? {} : { worktree: opts.worktree }),
  });
  const of = <T extends LoopEvent['type']>(type: T) =>
    events.filter((e): e is Extract<LoopEvent, { type: T }> => e.type === type);
  return { caller, events, control, budget, emitter, of };
}

/** JSON.parse's message for text that is not JSON (what a marked tool call's __parse_error__ holds). */
export function jsonErrorOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return error.message;
  }
  throw new Error(`expected text that is not JSON, got ${text}`);
}
