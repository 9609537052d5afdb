import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CodexProvider, type CodexProviderOptions } from '../../src/models/codex.js';
import type { ProviderEvent } from '../../src/models/provider.js';
import { alive, killLeftover, makeCliFixture, type CliFixture } from './cli-fixture.js';
import { closedPort, listening } from './endpoints.js';
import { makeCaller, makeRequest, providerErrorOf } from './helpers.js';

const KEY = 'sk-test-0123456789';

let cli: CliFixture;

beforeEach(async () => {
  cli = await makeCliFixture({ codex: 'fake-codex.mjs' });
});

afterEach(async () => {
  const started = await cli.started().catch(() => undefined);
  killLeftover(started?.grandchild);
  await cli.cleanup();
});

function provider(
  mode = 'ok',
  extra: NodeJS.ProcessEnv = {},
  opts: Partial<CodexProviderOptions> = {},
): CodexProvider {
  return new CodexProvider({ env: cli.env(mode, { OPENAI_API_KEY: KEY, ...extra }), ...opts });
}

describe('CodexProvider', () => {
  it('runs one whole turn in the worktree; cached input is taken out of input', async () => {
    const events: ProviderEvent[] = [];
    const response = await provider().complete(
      makeRequest({ model: 'gpt-5-codex', cwd: cli.worktree, onEvent: (e) => events.push(e) }),
    );

    expect(response).toEqual({
      model: 'gpt-5-codex',
      text: 'Fixed the cart total.',
      toolCalls: [],
      stopReason: 'end_turn',
      usage: { input: 500, output: 300, cacheRead: 1500, cacheWrite: 0 },
    });
    expect(events).toEqual([
      { kind: 'tool.call', callId: 'item_0', name: 'command', input: { command: 'bash -lc ls' } },
      { kind: 'tool.result', callId: 'item_0', name: 'command', ok: true, output: 'src\ntest\n' },
      {
        kind: 'tool.call',
        callId: 'item_2',
        name: 'file_change',
        input: { changes: [{ path: 'src/cart.js', kind: 'update' }] },
      },
      { kind: 'tool.result', callId: 'item_2', name: 'file_change', ok: true, output: 'update src/cart.js' },
      { kind: 'tool.call', callId: 'item_3', name: 'docs.search', input: { q: 'cart' } },
      { kind: 'tool.result', callId: 'item_3', name: 'docs.search', ok: false, output: 'no such index' },
      { kind: 'text', text: 'Fixed the cart total.' },
      { kind: 'usage', usage: { input: 500, output: 300, cacheRead: 1500, cacheWrite: 0 } },
    ]);
    const started = await cli.started();
    expect(started.cwd).toBe(cli.worktree);
    expect(started.args).toEqual([
      'exec',
      '--json',
      '--sandbox',
      'workspace-write',
      '-m',
      'gpt-5-codex',
      'You fix failing tests.\n\nThe tests fail. Fix them.',
    ]);
  });

  it('is priced by the table (Codex reports no cost) and its commands reach the trace', async () => {
    const priced: string[] = [];
    const h = makeCaller(provider(), {
      worktree: cli.worktree,
      model: 'gpt-5-codex',
      price: (model) => {
        priced.push(model);
        return 0.002;
      },
    });
    const result = await h.caller.call({ step: 'work', system: 's', messages: makeRequest().messages });
    expect(result.kind).toBe('ok');
    // Once as the turn's usage arrives (for the caps), once for the response.
    expect(priced).toEqual(['gpt-5-codex', 'gpt-5-codex']);
    expect(h.budget.usd).toBe(0.002);
    expect(h.of('model.response')[0]!.usd).toBe(0.002);
    expect(h.of('tool.call').map((e) => e.name)).toEqual(['command', 'file_change', 'docs.search']);
    expect(h.of('tool.result').map((e) => e.ok)).toEqual([true, true, false]);
  });

  it('turns a failed turn into an error of the kind its words say, with its message', async () => {
    const error = await providerErrorOf(provider('failed').complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('connection');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'Codex could not reach its model API; check the network: stream disconnected before completion',
    );
  });

  it('ends the call on a refused login and stops a Codex that does not exit after turn.failed', async () => {
    const error = await providerErrorOf(
      provider('refused-hang').complete(makeRequest({ cwd: cli.worktree })),
    );
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'Codex was refused its credentials; check OPENAI_API_KEY or `codex login`: ' +
        'unexpected status 401 Unauthorized: Incorrect API key provided',
    );
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('ends the call on a fatal error event followed by silence, and stops Codex', async () => {
    const pending = provider('limit-hang', {}, { failingGraceMs: 50 }).complete(
      makeRequest({ cwd: cli.worktree }),
    );
    const error = await providerErrorOf(pending);
    expect(error.kind).toBe('rate_limit');
    // A spent usage limit is not worth an immediate retry.
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("You've hit your usage limit.");
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('takes Reconnecting… events for retries and an error followed by work for a warning', async () => {
    // A grace far longer than the fake takes: the turn must complete, whatever the machine's speed.
    const response = await provider('retrying', {}, { failingGraceMs: 60_000 }).complete(
      makeRequest({ cwd: cli.worktree }),
    );
    expect(response.text).toBe('Done after retrying.');
    expect(response.usage).toEqual({ input: 10, output: 5, cacheRead: 0, cacheWrite: 0 });
  });

  it('reads the kind of a failure from stderr when Codex exits nonzero without an event', async () => {
    const error = await providerErrorOf(provider('stderr').complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('auth');
    expect(error.message).toBe(
      '`codex` exited with status 1: Error: unexpected status 401 Unauthorized: Incorrect API key provided',
    );
  });

  it('a Codex that prints nothing and never exits is stopped at the run deadline', async () => {
    // A minutes cap of three seconds: the deadline, not the fake, ends the call (long enough for the
    // fake to start and record its pid, which is checked below).
    const h = makeCaller(provider('silent'), {
      worktree: cli.worktree,
      front: { budget: { minutes: 0.05 } },
    });
    const result = await h.caller.call({ step: 'work', system: 's', messages: makeRequest().messages });
    expect(result.kind).toBe('budget');
    expect(result.kind === 'budget' && result.breach.cap).toBe('minutes');
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('points Codex at agent.base_url through its openai_base_url setting and the old variable', async () => {
    const server = await listening();
    try {
      const url = `http://127.0.0.1:${server.port}/v1`;
      await provider('ok', {}, { baseUrl: url }).complete(makeRequest({ cwd: cli.worktree }));
      const started = await cli.started();
      expect(started.args.slice(0, 6)).toEqual([
        'exec',
        '--json',
        '--sandbox',
        'workspace-write',
        '-c',
        `openai_base_url="${url}"`,
      ]);
      expect(started.env.OPENAI_BASE_URL).toBe(url);
    } finally {
      await server.close();
    }
  });

  it('an agent.base_url where nothing listens is a connection error naming it; Codex never starts', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1`;
    const error = await providerErrorOf(
      provider('ok', {}, { baseUrl: url }).complete(makeRequest({ cwd: cli.worktree })),
    );
    expect(error.kind).toBe('connection');
    expect(error.message).toContain(`Codex could not reach its model API at ${url} (agent.base_url)`);
    expect(error.message).toContain('ECONNREFUSED');
    await expect(cli.started()).rejects.toThrow();
  });

  it('does not check the endpoint itself when a proxy carries the traffic', async () => {
    const port = await closedPort();
    await provider(
      'ok',
      { HTTPS_PROXY: 'http://proxy.invalid:3128' },
      {
        baseUrl: `http://127.0.0.1:${port}/v1`,
      },
    ).complete(makeRequest({ cwd: cli.worktree }));
    expect((await cli.started()).args).toContain(`openai_base_url="http://127.0.0.1:${port}/v1"`);
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
    expect((await providerErrorOf(pending)).kind).toBe('aborted');
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('says how to get Codex when `codex` is not on PATH', async () => {
    const missing = new CodexProvider({ env: { PATH: cli.worktree } });
    const error = await providerErrorOf(missing.complete(makeRequest({ cwd: cli.worktree })));
    expect(error.kind).toBe('config');
    expect(error.message).toBe(
      '`codex` was not found on PATH: install Codex (npm install -g @openai/codex) or use provider openai',
    );
  });

  it('stops the session once its usage passes the tokens cap', async () => {
    const h = makeCaller(provider(), { worktree: cli.worktree, front: { budget: { tokens: 1000 } } });
    const result = await h.caller.call({ step: 'work', system: 's', messages: makeRequest().messages });
    expect(result).toEqual({ kind: 'budget', breach: { cap: 'tokens', limit: 1000, used: 2300 } });
    // Recorded once, whether the abort or the end of the session came first.
    expect(h.of('model.response').map((e) => e.usage)).toEqual([
      { input: 500, output: 300, cacheRead: 1500, cacheWrite: 0 },
    ]);
    expect(h.budget.tokens).toBe(2300);
  });

  it('gives Codex the environment without credentials, except its own', async () => {
    await provider('ok', {
      HOME: '/home/someone',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      CODEX_HOME: '/home/someone/.codex-work',
      ANTHROPIC_API_KEY: 'sk-ant-0123456789',
      OPENAI_ORG_ID: 'org-0123456789',
      GH_TOKEN: 'gho_0123456789abcdef',
    }).complete(makeRequest({ cwd: cli.worktree }));
    const { env } = await cli.started();
    expect(env).toMatchObject({
      HOME: '/home/someone',
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      CODEX_HOME: '/home/someone/.codex-work',
    });
    for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_ORG_ID', 'GH_TOKEN'])
      expect(env).not.toHaveProperty(name);
  });

  it('cuts the secrets of the environment out of what Codex reports', async () => {
    const events: ProviderEvent[] = [];
    const response = await provider('leak').complete(
      makeRequest({ cwd: cli.worktree, onEvent: (e) => events.push(e) }),
    );
    expect(response.text).toBe('The key is [redacted].');
    expect(JSON.stringify(events)).not.toContain(KEY);
    expect(events).toContainEqual({
      kind: 'tool.result',
      callId: 'item_0',
      name: 'command',
      ok: true,
      output: 'OPENAI_API_KEY=[redacted]\n',
    });
  });

  it('kills the processes Codex started when the call is aborted, not only Codex', async () => {
    const controller = new AbortController();
    const pending = provider('hang', { FAKE_CLI_GRANDCHILD: '1' }).complete(
      makeRequest({
        cwd: cli.worktree,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind === 'tool.call') controller.abort();
        },
      }),
    );
    expect((await providerErrorOf(pending)).kind).toBe('aborted');
    const { pid, grandchild } = await cli.started();
    expect(grandchild).toBeTypeOf('number');
    await vi.waitFor(() => {
      expect(alive(pid)).toBe(false);
      expect(alive(grandchild!)).toBe(false);
    });
  });
});
