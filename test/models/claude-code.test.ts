import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verdictTool } from '../../src/core/verify/verdict.js';
import { CLAUDE_SANDBOX_SETTINGS, ClaudeCodeProvider } from '../../src/models/claude-code.js';
import type { ProviderEvent } from '../../src/models/provider.js';
import { alive, killLeftover, makeCliFixture, type CliFixture } from './cli-fixture.js';
import { closedPort, listening } from './endpoints.js';
import { makeCaller, makeRequest, providerErrorOf, type CallerHarness } from './helpers.js';

const KEY = 'sk-ant-test-secret-0123456789';

let cli: CliFixture;

beforeEach(async () => {
  cli = await makeCliFixture({ claude: 'fake-claude.mjs' });
});

afterEach(async () => {
  const started = await cli.started().catch(() => undefined);
  killLeftover(started?.grandchild);
  await cli.cleanup();
});

const CALL = { step: 'work' as const, system: 's', messages: makeRequest().messages };
/** msg_1's usage, all the `hang` mode's session reports before it stops at its first tool call. */
const FIRST_MESSAGE = { input: 100, output: 20, cacheRead: 1000, cacheWrite: 500 };

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
    const model = 'claude-sonnet-4-6-20260101';
    expect(events).toEqual([
      // Each message's usage as it arrives, a running total: msg_1's second event repeats it, unreported.
      { kind: 'usage', usage: { input: 100, output: 20, cacheRead: 1000, cacheWrite: 500 }, model },
      { kind: 'text', text: "I'll read the test." },
      { kind: 'tool.call', callId: 'toolu_1', name: 'Read', input: { file_path: 'test/cart.test.js' } },
      { kind: 'tool.result', callId: 'toolu_1', name: 'Read', ok: true, output: 'expect(total).toBe(12)' },
      { kind: 'usage', usage: { input: 150, output: 50, cacheRead: 2500, cacheWrite: 500 }, model },
      { kind: 'tool.call', callId: 'toolu_2', name: 'Bash', input: { command: 'npm test' } },
      { kind: 'tool.result', callId: 'toolu_2', name: 'Bash', ok: false, output: '1 failing' },
      { kind: 'usage', usage: { input: 160, output: 55, cacheRead: 2500, cacheWrite: 500 }, model },
      { kind: 'text', text: 'Fixed the total.' },
      // The result's own totals and cost.
      {
        kind: 'usage',
        usage: { input: 160, output: 55, cacheRead: 2500, cacheWrite: 500 },
        usd: 0.0123,
        model,
      },
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
      '--settings',
      CLAUDE_SANDBOX_SETTINGS,
      '--model',
      'claude-sonnet-4-6',
      'You fix failing tests.\n\nThe tests fail. Fix them.',
    ]);
    expect(started.stdin).toBe('');
    expect(JSON.stringify(started.args)).not.toContain(KEY);
  });

  it("answers a forced tool with --json-schema, the structured output as the call's input", async () => {
    const verdict = { result: 'failed', score: 0, explanation: 'No.', criteria: [] };
    const tool = verdictTool(['prices']);
    const forced = new ClaudeCodeProvider({
      env: cli.env('ok', { ANTHROPIC_API_KEY: KEY, FAKE_CLAUDE_STRUCTURED: JSON.stringify(verdict) }),
    });
    const response = await forced.complete(
      makeRequest({
        step: 'review',
        cwd: cli.worktree,
        tools: [tool],
        toolChoice: { type: 'tool', name: 'submit_verdict' },
      }),
    );
    // The result's text holds a planted "satisfied"; the structured output is the only verdict.
    expect(response.toolCalls).toEqual([{ id: 'structured-sess-1', name: 'submit_verdict', input: verdict }]);
    const { args } = await cli.started();
    const at = args.indexOf('--json-schema');
    expect(at).toBeGreaterThan(0);
    expect(JSON.parse(args[at + 1] ?? '')).toEqual(tool.inputSchema);
    expect(args.at(-1)).toContain('Give the input of submit_verdict as your structured output');
  });

  it('gives no call when the structured output is missing, and never asks for one unforced', async () => {
    const tool = verdictTool([]);
    const missing = await provider().complete(
      makeRequest({ cwd: cli.worktree, tools: [tool], toolChoice: { type: 'tool', name: 'submit_verdict' } }),
    );
    expect(missing.toolCalls).toEqual([]);
    const unforced = await provider().complete(makeRequest({ cwd: cli.worktree, tools: [tool] }));
    expect(unforced.toolCalls).toEqual([]);
    expect((await cli.started()).args).not.toContain('--json-schema');
  });

  it("switches Claude Code's own sandbox on, with no unconfined retry and no silent fallback", async () => {
    await provider().complete(makeRequest({ cwd: cli.worktree }));
    const args = (await cli.started()).args;
    const settings: unknown = JSON.parse(args[args.indexOf('--settings') + 1] ?? '{}');
    expect(settings).toEqual({
      sandbox: {
        enabled: true,
        failIfUnavailable: true,
        allowUnsandboxedCommands: false,
        autoAllowBashIfSandboxed: true,
      },
    });
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
    // The table's price holds the session to the caps while it runs; Claude Code's own cost is recorded.
    const h = makeCaller(provider(), { worktree: cli.worktree, price: () => 0.5 });
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

  it('fails when Claude Code did no work and reports an error (e.g. not logged in), as an auth error', async () => {
    const error = await providerErrorOf(provider('login').complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'Claude Code was refused its credentials; check ANTHROPIC_API_KEY or `claude /login`: ' +
        'Invalid API key · Please run /login (success)',
    );
  });

  it('ends the call when an api_retry reports a refused login, and stops Claude Code', async () => {
    const error = await providerErrorOf(
      provider('refused-hang').complete(makeRequest({ cwd: cli.worktree })),
    );
    expect(error.kind).toBe('auth');
    expect(error.message).toContain('HTTP 401, authentication_failed');
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('a Claude Code that cannot reach its API fails with a connection error naming ANTHROPIC_BASE_URL', async () => {
    const server = await listening();
    try {
      const url = `http://127.0.0.1:${server.port}/`;
      const env = cli.env('unreachable', { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url });
      const error = await providerErrorOf(
        new ClaudeCodeProvider({ env }).complete(makeRequest({ cwd: cli.worktree })),
      );
      expect(error.kind).toBe('connection');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(
        `Claude Code could not reach its model API at ${url} (ANTHROPIC_BASE_URL)`,
      );
      expect(error.message).toContain('API Error: Connection error.');
    } finally {
      await server.close();
    }
  });

  it('returns the result and stops a Claude Code that does not exit after it', async () => {
    const response = await provider('linger').complete(makeRequest({ cwd: cli.worktree }));
    expect(response.text).toBe('Fixed the total.');
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('passes agent.base_url as ANTHROPIC_BASE_URL, over the one in the environment', async () => {
    const server = await listening();
    try {
      const url = `http://127.0.0.1:${server.port}/`;
      const env = cli.env('ok', { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: 'http://elsewhere.invalid/' });
      await new ClaudeCodeProvider({ env, baseUrl: url }).complete(makeRequest({ cwd: cli.worktree }));
      expect((await cli.started()).env.ANTHROPIC_BASE_URL).toBe(url);
    } finally {
      await server.close();
    }
  });

  it('an endpoint where nothing listens is a connection error naming it; Claude Code never starts', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const env = cli.env('ok', { ANTHROPIC_API_KEY: KEY });
    const error = await providerErrorOf(
      new ClaudeCodeProvider({ env, baseUrl: url }).complete(makeRequest({ cwd: cli.worktree })),
    );
    expect(error.kind).toBe('connection');
    expect(error.message).toContain(`at ${url} (agent.base_url)`);
    expect(error.message).toContain('ECONNREFUSED');
    await expect(cli.started()).rejects.toThrow();
  });

  it('refuses to run without a worktree, rather than in the current directory', async () => {
    const error = await providerErrorOf(provider().complete(makeRequest()));
    expect(error.kind).toBe('config');
    expect(error.message).toContain("in the run's worktree");
  });

  it("prefers the result's totals to the per-message count, and records them once", async () => {
    const h = makeCaller(provider('total'), { worktree: cli.worktree, price: () => 0.001 });
    const result = await h.caller.call(CALL);

    expect(result.kind).toBe('ok');
    const total = { input: 400, output: 55, cacheRead: 2500, cacheWrite: 500 };
    expect(h.of('model.response').map((e) => [e.usage, e.usd])).toEqual([[total, 0.02]]);
    // The running count (input 160) was provisional: replaced, not added to.
    expect(h.budget.usage).toEqual(total);
    expect(h.budget.usd).toBe(0.02);
  });

  it.each([
    ['tokens', { tokens: 1000 }, { cap: 'tokens', limit: 1000, used: 1620 }],
    ['usd', { usd: 0.1 }, { cap: 'usd', limit: 0.1, used: 0.25 }],
  ])(
    'stops the session once its usage passes the %s cap, and records what it used',
    async (_cap, budget, breach) => {
      const h = makeCaller(provider('hang'), {
        worktree: cli.worktree,
        front: { budget },
        price: () => 0.25,
      });
      const result = await h.caller.call(CALL);

      expect(result).toEqual({ kind: 'budget', breach });
      const responses = h.of('model.response');
      expect(responses).toHaveLength(1);
      expect(responses[0]).toMatchObject({ stopReason: 'other', usage: FIRST_MESSAGE, usd: 0.25 });
      expect(h.budget.usage).toEqual(FIRST_MESSAGE);
      expect(h.budget.usd).toBe(0.25);
      // Its tool call came after the breach: not run on the run's account, not in the trace.
      expect(h.of('tool.call')).toHaveLength(0);
      const { pid } = await cli.started();
      await vi.waitFor(() => expect(alive(pid)).toBe(false));
    },
  );

  it.each([
    ['a stop', 'stopped', (h: CallerHarness) => h.control.stop()],
    ["a person's `!`", 'interrupted', (h: CallerHarness) => h.control.instruct('use the other file', true)],
  ])("records an aborted session's spend once, on %s", async (_what, kind, abort) => {
    const h = makeCaller(provider('hang'), { worktree: cli.worktree, price: () => 0.25 });
    const pending = h.caller.call(CALL);
    await vi.waitFor(() => expect(h.of('tool.call')).toHaveLength(1));
    abort(h);

    expect(await pending).toEqual({ kind });
    const responses = h.of('model.response');
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({
      model: 'claude-sonnet-4-6-20260101',
      text: "I'll read the test.",
      stopReason: 'other',
      usage: FIRST_MESSAGE,
      usd: 0.25,
    });
    expect(h.budget.usage).toEqual(FIRST_MESSAGE);
    expect(h.budget.usd).toBe(0.25);
  });

  it('gives Claude Code the environment without credentials, except its own', async () => {
    // A proxy is set, so the endpoint is not checked (loops may not reach what the proxy does).
    const parent = cli.env('ok', {
      HTTPS_PROXY: 'http://proxy.invalid:3128',
      HOME: '/home/someone',
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_AUTH_TOKEN: 'auth-token-0123456789',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
      CLAUDE_CONFIG_DIR: '/home/someone/.claude-work',
      CLAUDE_CODE_OAUTH_TOKEN: 'oauth-token-0123456789',
      CLAUDE_CODE_USE_BEDROCK: '1',
      GITHUB_TOKEN: 'ghp_0123456789abcdef',
      OPENAI_API_KEY: 'sk-openai-0123456789',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-0123456789',
      DATABASE_PASSWORD: 'hunter2-0123456789',
      EDITOR: 'vim',
    });
    await new ClaudeCodeProvider({ env: parent }).complete(makeRequest({ cwd: cli.worktree }));

    const { env } = await cli.started();
    expect(env).toMatchObject({
      PATH: parent.PATH,
      HOME: '/home/someone',
      EDITOR: 'vim',
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_AUTH_TOKEN: 'auth-token-0123456789',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
      CLAUDE_CONFIG_DIR: '/home/someone/.claude-work',
      CLAUDE_CODE_OAUTH_TOKEN: 'oauth-token-0123456789',
      CLAUDE_CODE_USE_BEDROCK: '1',
    });
    for (const name of ['GITHUB_TOKEN', 'OPENAI_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_PASSWORD'])
      expect(env).not.toHaveProperty(name);
  });

  it('cuts the secrets of the environment out of everything Claude Code reports', async () => {
    const h = makeCaller(provider('leak'), { worktree: cli.worktree, price: () => 0.001 });
    expect((await h.caller.call(CALL)).kind).toBe('ok');

    expect(JSON.stringify(h.events)).not.toContain(KEY);
    expect(h.of('model.delta').map((e) => e.text)).toEqual(['My key is [redacted].']);
    expect(h.of('tool.call')[0]!.input).toEqual({ command: 'echo [redacted]', env: ['[redacted]'] });
    expect(h.of('tool.result')[0]!.output).toBe('ANTHROPIC_API_KEY=[redacted]');
    expect(h.of('model.response')[0]!.text).toBe('Done; the key was [redacted]');
  });

  it('kills the processes Claude Code started when the call is aborted, not only Claude Code', async () => {
    const controller = new AbortController();
    const tree = new ClaudeCodeProvider({ env: cli.env('hang', { FAKE_CLI_GRANDCHILD: '1' }) });
    const pending = tree.complete(
      makeRequest({
        cwd: cli.worktree,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind === 'tool.call') controller.abort();
        },
      }),
    );
    // Before, the grandchild kept stdout open and this never settled.
    expect((await providerErrorOf(pending)).kind).toBe('aborted');
    const { pid, grandchild } = await cli.started();
    expect(grandchild).toBeTypeOf('number');
    await vi.waitFor(() => {
      expect(alive(pid)).toBe(false);
      expect(alive(grandchild!)).toBe(false);
    });
  });
});
