/**
 * A tool call cut off by the response's end (max_tokens), from either API through the real SDK. The
 * Anthropic SDK repairs a truncated input (`{"path": "notes.txt", "content": "` becomes an object with
 * empty content), so without a check of its own a cut-off write_file would empty the file and a cut-off
 * run would execute half a command. Both providers refuse such calls: the agent turn answers them with
 * a tool error, the turn goes on, and the call's usage stays billed.
 */
import { access, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgentTurn } from '../../src/core/run/agent-turn.js';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { OpenAIProvider } from '../../src/models/openai.js';
import type { ModelProvider } from '../../src/models/provider.js';
import { createToolbox } from '../../src/tools/toolbox.js';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { makeCaller } from './helpers.js';

interface Call {
  id: string;
  name: string;
  /** The arguments exactly as they arrive. */
  raw: string;
}

interface Fake {
  provider: ModelProvider;
  bodies: () => unknown[];
  close: () => Promise<void>;
}

/** First reply: `calls`, ended by `cutOff` (max_tokens) or not; second reply: done. */
const FAKES: Record<'openai' | 'anthropic', (calls: Call[], cutOff: boolean) => Promise<Fake>> = {
  openai: async (calls, cutOff) => {
    const fake = await startFakeOpenAI((_body, index) =>
      index === 0
        ? {
            toolCalls: calls.map((c) => ({ id: c.id, name: c.name, rawArguments: c.raw })),
            ...(cutOff ? { finishReason: 'length' } : {}),
          }
        : { text: 'Done.' },
    );
    const provider = new OpenAIProvider({ env: { OPENAI_API_KEY: 'k' }, baseUrl: fake.url, maxRetries: 0 });
    return { provider, bodies: () => fake.requests.map((r) => r.body), close: () => fake.close() };
  },
  anthropic: async (calls, cutOff) => {
    const fake = await startFakeAnthropic((_body, index) =>
      index === 0
        ? {
            text: 'Working.',
            toolCalls: calls.map((c) => ({ id: c.id, name: c.name, rawInput: c.raw })),
            ...(cutOff ? { stopReason: 'max_tokens' } : {}),
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

const NOTES = 'remember the milk\n';
let worktree: string;
let fake: Fake | undefined;

beforeEach(async () => {
  worktree = await realpath(await mkdtemp(path.join(os.tmpdir(), 'loops-truncated-')));
  await writeFile(path.join(worktree, 'notes.txt'), NOTES);
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
  await rm(worktree, { recursive: true, force: true });
});

async function turn(name: 'openai' | 'anthropic', calls: Call[], cutOff = true) {
  fake = await FAKES[name](calls, cutOff);
  const h = makeCaller(fake.provider, { price: () => 0.001 });
  const end = await runAgentTurn(
    {
      caller: h.caller,
      tools: createToolbox(['read_file', 'write_file', 'run']),
      toolContext: { worktree, runTimeoutMs: 10_000, outputCap: 10_000, protectedPaths: [] },
      budget: h.budget,
      control: h.control,
      emitter: h.emitter,
    },
    'You keep notes.',
    'Update the notes.',
  );
  return { end, h, bodies: fake.bodies() };
}

describe.each(['openai', 'anthropic'] as const)('a tool call from %s cut off at max_tokens', (name) => {
  // Cuts the SDK repairs into a call that would run: the content cut mid-string is dropped, or the
  // input lacks only its closing brace.
  const writes = [
    '{"path": "notes.txt", "content": "half of the new no',
    '{"path": "notes.txt", "content": ""',
  ];
  it.each(writes)(
    'a cut-off write_file (%s) is refused and does not touch the file; the turn goes on, billed',
    async (raw) => {
      const { end, h, bodies } = await turn(name, [
        { id: 'call_read', name: 'read_file', raw: '{"path": "notes.txt"}' },
        { id: 'call_write', name: 'write_file', raw },
      ]);
      expect(end.kind).toBe('done');
      expect(await readFile(path.join(worktree, 'notes.txt'), 'utf8')).toBe(NOTES);
      const results = h.of('tool.result');
      expect(results.map((e) => [e.callId, e.ok])).toEqual([
        ['call_read', true],
        ['call_write', false],
      ]);
      expect(results[1]!.output).toMatch(
        /^the arguments were cut off before they ended \(.*\), so nothing was run/,
      );
      // The model was told, in the conversation the next call sent.
      expect(JSON.stringify(bodies[1])).toContain('so nothing was run');
      const responses = h.of('model.response');
      expect(responses).toHaveLength(2);
      expect(responses[0]!.stopReason).toBe('max_tokens');
      expect(responses[0]!.usd).toBe(0.001);
      expect(h.of('run.error')).toHaveLength(0);
    },
  );

  it.each(['{"command": "touch ran.txt"', '{"command": "touch ran.txt", "timeout_sec'])(
    'a cut-off run (%s) is refused and never executes',
    async (raw) => {
      const { end, h } = await turn(name, [{ id: 'call_run', name: 'run', raw }]);
      expect(end.kind).toBe('done');
      await expect(access(path.join(worktree, 'ran.txt'))).rejects.toThrow();
      expect(h.of('tool.result').map((e) => [e.callId, e.ok])).toEqual([['call_run', false]]);
    },
  );

  it('the last call of a response cut at max_tokens is refused even when what arrived parses', async () => {
    const { h } = await turn(name, [
      { id: 'call_write', name: 'write_file', raw: '{"path": "notes.txt", "content": "x"}' },
    ]);
    expect(await readFile(path.join(worktree, 'notes.txt'), 'utf8')).toBe(NOTES);
    const [result] = h.of('tool.result');
    expect(result).toMatchObject({ ok: false });
    expect(result!.output).toContain('the response reached max_tokens during this call');
  });

  it('a whole call in a response that ended normally runs', async () => {
    const { h } = await turn(
      name,
      [{ id: 'call_write', name: 'write_file', raw: '{"path": "notes.txt", "content": "x"}' }],
      false,
    );
    expect(h.of('tool.result').map((e) => e.ok)).toEqual([true]);
    expect(await readFile(path.join(worktree, 'notes.txt'), 'utf8')).toBe('x');
  });
});

describe('an Anthropic tool call whose input did not arrive as complete JSON', () => {
  it('is refused even when the response says it ended normally (the SDK would have repaired it)', async () => {
    const { h } = await turn(
      'anthropic',
      [{ id: 'call_write', name: 'write_file', raw: '{"path": "notes.txt", "content": ""' }],
      false,
    );
    expect(await readFile(path.join(worktree, 'notes.txt'), 'utf8')).toBe(NOTES);
    const [result] = h.of('tool.result');
    expect(result).toMatchObject({ ok: false });
    expect(result!.output).toContain('incomplete JSON');
  });
});
