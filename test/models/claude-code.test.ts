import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClaudeCodeProvider } from '../../src/models/claude-code.js';
import type { ProviderEvent } from '../../src/models/provider.js';
import { alive, makeCliFixture, type CliFixture } from './cli-fixture.js';
import { makeCaller, makeRequest, providerErrorOf } from './helpers.js';

const KEY = 'sk-ant-test-secret-0123456789';

let cli: CliFixture;

beforeEach(async () => {
  cli = await makeCliFixture({ claude: 'fake-claude.mjs' });
});

afterEach(async () => {
  await cli.cleanup();
});

function provider(mode = 'ok'): ClaudeCodeProvider {
  return new ClaudeCodeProvider({ env: cli.env(mode, { ANTHROPIC_API_KEY: KEY }) });
}

describe('ClaudeCodeProvider', () => {
  it('runs one whole turn in the worktree and returns its result, cost and usage counted once per message', async () => {
    const events: ProviderEvent[] = [];
    const response = await provider().complete(
      makeRequest({ model: 'claude-sonnet-4-6', cwd: cli.worktree, onEvent: (e) => events.push(e) }),
    );

    expect(response).toEqual({
      model: 'claude-sonnet-4-6-20260101',
      text: 'Fixed the total.',
      toolCalls: [],
      stopReason: 'end_turn',
      // msg_1 came in two events with the same usage: 100 + 50 + 10 input, not 200 + 50 + 10.
      usage: { input: 160, output: 55, cacheRead: 2500, cacheWrite: 500 },
      usd: 0.0123,
    });
    expect(events).toEqual([
      { kind: 'text', text: "I'll read the test." },
      { kind: 'tool.call', callId: 'toolu_1', name: 'Read', input: { file_path: 'test/cart.test.js' } },
      { kind: 'tool.result', callId: 'toolu_1', name: 'Read', ok: true, output: 'expect(total).toBe(12)' },
      { kind: 'tool.call', callId: 'toolu_2', name: 'Bash', input: { command: 'npm test' } },
      { kind: 'tool.result', callId: 'toolu_2', name: 'Bash', ok: false, output: '1 failing' },
      { kind: 'text', text: 'Fixed the total.' },
    ]);

    const started = await cli.started();
    expect(started.cwd).toBe(cli.worktree);
    expect(started.args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-mode',
      'acceptEdits',
      '--model',
      'claude-sonnet-4-6',
      'You fix failing tests.\n\nThe tests fail. Fix them.',
    ]);
    expect(started.stdin).toBe('');
    expect(JSON.stringify(started.args)).not.toContain(KEY);
  });

  it('lets Claude Code pick the model when the loop names none', async () => {
    await provider().complete(makeRequest({ model: 'default', cwd: cli.worktree }));
    expect((await cli.started()).args).not.toContain('--model');
  });

  it('sends a prompt that would read as an option on stdin instead', async () => {
    await provider().complete(makeRequest({ system: '--- front matter', cwd: cli.worktree }));
    const started = await cli.started();
    expect(started.stdin).toBe('--- front matter\n\nThe tests fail. Fix them.');
    // No prompt argument: the model is the last one.
    expect(started.args.slice(-2)).toEqual(['--model', 'test-model']);
  });

  it('puts its tool calls in the trace under the model call, and its own cost in the ledger', async () => {
    const h = makeCaller(provider(), { worktree: cli.worktree, price: () => 99 });
    const result = await h.caller.call({
      step: 'work',
      system: 'You fix failing tests.',
      messages: makeRequest().messages,
    });

    expect(result.kind).toBe('ok');
    const model = h.of('model.response')[0]!;
    expect(model.usd).toBe(0.0123);
    expect(h.budget.usd).toBe(0.0123);
    expect(h.budget.toolCalls).toBe(2);
    expect(h.of('model.delta').map((e) => e.text)).toEqual(["I'll read the test.", 'Fixed the total.']);
    const calls = h.of('tool.call');
    const results = h.of('tool.result');
    expect(calls.map((e) => e.name)).toEqual(['Read', 'Bash']);
    expect(results.map((e) => [e.callId, e.ok])).toEqual([
      ['toolu_1', true],
      ['toolu_2', false],
    ]);
    for (const [i, call] of calls.entries()) {
      expect(call.parentSpan).toBe(model.span);
      expect(results[i]!.span).toBe(call.span);
    }
    const types = h.events.map((e) => e.type);
    expect(types.indexOf('tool.result')).toBeLessThan(types.indexOf('model.response'));
    // The caller's worktree is where the agent ran.
    expect((await cli.started()).cwd).toBe(cli.worktree);
  });

  it('stops the agent when its tool calls pass the tool-call cap', async () => {
    const h = makeCaller(provider(), { worktree: cli.worktree, front: { budget: { tool_calls: 1 } } });
    const result = await h.caller.call({ step: 'work', system: 's', messages: makeRequest().messages });
    expect(result).toEqual({ kind: 'budget', breach: { cap: 'tool_calls', limit: 1, used: 1 } });
    expect(h.of('tool.call')).toHaveLength(1);
  });

  it('kills the process when the call is aborted', async () => {
    const controller = new AbortController();
    const pending = provider('hang').complete(
      makeRequest({
        cwd: cli.worktree,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind === 'tool.call') controller.abort();
        },
      }),
    );
    const error = await providerErrorOf(pending);
    expect(error.kind).toBe('aborted');
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('says how to get Claude Code when `claude` is not on PATH', async () => {
    const missing = new ClaudeCodeProvider({ env: { PATH: cli.worktree } });
    const error = await providerErrorOf(missing.complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('config');
    expect(error.message).toBe(
      '`claude` was not found on PATH: install Claude Code or use provider anthropic',
    );
  });

  it('turns a failed exit into a server error with the end of stderr, keys removed', async () => {
    const error = await providerErrorOf(provider('fail').complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('server');
    expect(error.message).toContain('`claude` exited with status 2: Error: the API refused key [redacted]');
    expect(error.message).toContain('something broke');
    expect(error.message).not.toContain(KEY);
  });

  it('fails when Claude Code did no work and reports an error (e.g. not logged in)', async () => {
    const error = await providerErrorOf(provider('login').complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('server');
    expect(error.message).toBe('Claude Code failed (success): Invalid API key · Please run /login');
  });

  it('refuses to run without a worktree, rather than in the current directory', async () => {
    const error = await providerErrorOf(provider().complete(makeRequest()));
    expect(error.kind).toBe('config');
    expect(error.message).toContain("in the run's worktree");
  });
});
