import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandProvider } from '../../src/models/command.js';
import { countTokens } from '../../src/models/tokens.js';
import { alive, killLeftover, makeCliFixture, type CliFixture } from './cli-fixture.js';
import { makeCaller, makeRequest, providerErrorOf } from './helpers.js';

const TOKEN = 'svc-token-0123456789';
const PROMPT = 'You fix failing tests.\n\nThe tests fail. Fix them.';

let cli: CliFixture;

beforeEach(async () => {
  cli = await makeCliFixture({ 'fake-agent': 'fake-agent.mjs' });
});

afterEach(async () => {
  const started = await cli.started().catch(() => undefined);
  killLeftover(started?.grandchild);
  await cli.cleanup();
});

/**
 * The command reads TOKEN from a config of its own (the file FAKE_LEAK_FILE names): MY_SERVICE_TOKEN is
 * not passed on, nor is a copy of its value under an innocent name.
 */
function provider(command: string[], mode = 'ok', extra: NodeJS.ProcessEnv = {}): CommandProvider {
  const leakFile = path.join(cli.worktree, '..', 'leak.txt');
  writeFileSync(leakFile, TOKEN);
  return new CommandProvider({
    command,
    env: cli.env(mode, { MY_SERVICE_TOKEN: TOKEN, FAKE_LEAK_FILE: leakFile, ...extra }),
  });
}

describe('CommandProvider', () => {
  it('sends the prompt on stdin and returns stdout, with usage counted here and marked estimated', async () => {
    const streamed: string[] = [];
    const response = await provider(['fake-agent', '--quiet']).complete(
      makeRequest({ cwd: cli.worktree, onText: (t) => streamed.push(t) }),
    );
    const text = 'prompt from stdin\nfirst line: You fix failing tests.';
    expect(response).toEqual({
      model: 'test-model',
      text,
      toolCalls: [],
      stopReason: 'end_turn',
      usage: { input: countTokens(PROMPT), output: countTokens(text), cacheRead: 0, cacheWrite: 0 },
      estimated: true,
    });
    expect(streamed).toEqual(['prompt from stdin\n', 'first line: You fix failing tests.\n']);
    const started = await cli.started();
    expect(started).toMatchObject({ args: ['--quiet'], stdin: PROMPT, cwd: cli.worktree });
  });

  it('replaces an argument that is exactly "{prompt}" and then leaves stdin empty', async () => {
    const response = await provider(['fake-agent', '--print', '{prompt}', 'x{prompt}']).complete(
      makeRequest({ cwd: cli.worktree }),
    );
    expect(response.text).toContain('prompt from argument');
    const started = await cli.started();
    expect(started.args).toEqual(['--print', PROMPT, 'x{prompt}']);
    expect(started.stdin).toBe('');
  });

  it('is never priced: unknown usage is unpriced, not $0', async () => {
    const h = makeCaller(provider(['fake-agent']), { worktree: cli.worktree, price: () => 0 });
    await h.caller.call({ step: 'work', system: 's', messages: makeRequest().messages });
    expect(h.of('model.response')[0]!.usd).toBeNull();
    expect(
      h
        .of('model.delta')
        .map((e) => e.text)
        .join(''),
    ).toContain('prompt from stdin');
  });

  it('turns a failed exit into a server error with the end of stderr, secrets removed', async () => {
    const error = await providerErrorOf(
      provider(['fake-agent'], 'fail').complete(makeRequest({ cwd: cli.worktree })),
    );
    expect(error.kind).toBe('server');
    expect(error.message).toBe('`fake-agent` exited with status 3: token [redacted] rejected');
  });

  it('kills the process when the call is aborted', async () => {
    const controller = new AbortController();
    const pending = provider(['fake-agent'], 'hang').complete(
      makeRequest({ cwd: cli.worktree, signal: controller.signal, onText: () => controller.abort() }),
    );
    expect((await providerErrorOf(pending)).kind).toBe('aborted');
    const { pid } = await cli.started();
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('names the command when it is not on PATH', async () => {
    const error = await providerErrorOf(
      provider(['no-such-agent']).complete(makeRequest({ cwd: cli.worktree })),
    );
    expect(error.kind).toBe('config');
    expect(error.message).toBe('`no-such-agent` was not found on PATH: check agent.command in LOOP.md');
  });

  it('gives the command the environment without credentials', async () => {
    await provider(['fake-agent'], 'ok', {
      HOME: '/home/someone',
      ANTHROPIC_API_KEY: 'sk-ant-0123456789',
      OPENAI_API_KEY: 'sk-openai-0123456789',
    }).complete(makeRequest({ cwd: cli.worktree }));
    const { env } = await cli.started();
    expect(env).toMatchObject({ HOME: '/home/someone', FAKE_CLI_MODE: 'ok' });
    for (const name of ['MY_SERVICE_TOKEN', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY'])
      expect(env).not.toHaveProperty(name);
  });

  it('kills what the command left running when it exits', async () => {
    // The grandchild shares stdout: before, the call waited for it to end.
    const response = await provider(['fake-agent'], 'ok', { FAKE_CLI_GRANDCHILD: '1' }).complete(
      makeRequest({ cwd: cli.worktree }),
    );
    expect(response.text).toContain('prompt from stdin');
    const { grandchild } = await cli.started();
    expect(grandchild).toBeTypeOf('number');
    await vi.waitFor(() => expect(alive(grandchild!)).toBe(false));
  });
});
