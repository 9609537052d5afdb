/**
 * A tool call whose arguments are not JSON, from either API through the real SDK: it comes back with
 * the call's usage, marked, and the agent turn answers it with a tool error instead of running it, so
 * the turn goes on and nothing billed is lost.
 */
import { access, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addUsage, emptyUsage } from '../../src/core/events.js';
import { runAgentTurn } from '../../src/core/run/agent-turn.js';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { OpenAIProvider } from '../../src/models/openai.js';
import type { ModelProvider } from '../../src/models/provider.js';
import { createToolbox } from '../../src/tools/toolbox.js';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { makeCaller } from './helpers.js';

const BAD_JSON = '{"path": a.js, "content": "x"}';

interface Fake {
  provider: ModelProvider;
  bodies: () => unknown[];
  close: () => Promise<void>;
}

/** First reply: a good read_file call, then a write_file call with BAD_JSON; second reply: done. */
const FAKES: Record<'openai' | 'anthropic', () => Promise<Fake>> = {
  openai: async () => {
    const fake = await startFakeOpenAI((_body, index) =>
      index === 0
        ? {
            toolCalls: [
              { id: 'call_read', name: 'read_file', input: { path: 'notes.txt' } },
              { id: 'call_write', name: 'write_file', rawArguments: BAD_JSON },
            ],
          }
        : { text: 'Done.' },
    );
    const provider = new OpenAIProvider({ env: { OPENAI_API_KEY: 'k' }, baseUrl: fake.url, maxRetries: 0 });
    return { provider, bodies: () => fake.requests.map((r) => r.body), close: () => fake.close() };
  },
  anthropic: async () => {
    const fake = await startFakeAnthropic((_body, index) =>
      index === 0
        ? {
            text: 'Reading, then writing.',
            toolCalls: [
              { id: 'call_read', name: 'read_file', input: { path: 'notes.txt' } },
              { id: 'call_write', name: 'write_file', rawInput: BAD_JSON },
            ],
          }
        : { text: 'Done.' },
    );
    const provider = new AnthropicProvider({
      env: { ANTHROPIC_API_KEY: 'k' },
      baseUrl: fake.url,
      maxRetries: 0,
    });
    return { provider, bodies: () => fake.requests.map((r) => r.body), close: () => fake.close() };
  },
};

let worktree: string;
let fake: Fake | undefined;

beforeEach(async () => {
  worktree = await realpath(await mkdtemp(path.join(os.tmpdir(), 'loops-invalid-json-')));
  await writeFile(path.join(worktree, 'notes.txt'), 'remember the milk\n');
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
  await rm(worktree, { recursive: true, force: true });
});

describe.each(['openai', 'anthropic'] as const)(
  'a tool call from %s whose arguments are not JSON',
  (name) => {
    it('is answered with a tool error and not run; the turn goes on and its usage is recorded', async () => {
      fake = await FAKES[name]();
      const h = makeCaller(fake.provider, { price: () => 0.001 });
      const end = await runAgentTurn(
        {
          caller: h.caller,
          tools: createToolbox(['read_file', 'write_file']),
          toolContext: { worktree, runTimeoutMs: 10_000, outputCap: 10_000, protectedPaths: [] },
          budget: h.budget,
          control: h.control,
          emitter: h.emitter,
        },
        'You keep notes.',
        'Copy the notes.',
      );

      expect(end.kind).toBe('done');
      const results = h.of('tool.result');
      expect(results.map((e) => [e.callId, e.ok])).toEqual([
        ['call_read', true],
        ['call_write', false],
      ]);
      expect(results[0]!.output).toContain('remember the milk');
      expect(results[1]!.output).toMatch(
        /^the arguments were not valid JSON: .*JSON.*; call the tool again with a JSON object$/,
      );
      // Not run: nothing was written.
      await expect(access(path.join(worktree, 'a.js'))).rejects.toThrow();
      // The model was told, in the conversation the next call sent.
      expect(JSON.stringify(fake.bodies()[1])).toContain('call the tool again with a JSON object');

      const responses = h.of('model.response');
      expect(responses).toHaveLength(2);
      expect(responses[0]!.usage.input).toBe(10);
      expect(responses[0]!.usage.output).toBeGreaterThan(1);
      expect(responses[0]!.usd).toBe(0.001);
      expect(h.budget.usage).toEqual(responses.reduce((sum, e) => addUsage(sum, e.usage), emptyUsage()));
      expect(h.of('run.error')).toHaveLength(0);
    });
  },
);
