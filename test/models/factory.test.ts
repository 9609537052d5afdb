import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicProvider } from '../../src/models/anthropic.js';
import { ClaudeCodeProvider } from '../../src/models/claude-code.js';
import { CodexProvider } from '../../src/models/codex.js';
import { CommandProvider } from '../../src/models/command.js';
import { createProvider, type ProviderOptions } from '../../src/models/factory.js';
import { OpenAIProvider } from '../../src/models/openai.js';
import { ScriptedProvider } from '../../src/models/scripted.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { makeRequest, providerErrorOf } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loops-factory-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(overrides: Partial<ProviderOptions>): ProviderOptions {
  return {
    provider: 'scripted',
    model: 'scripted',
    loopDir: dir,
    script: 'SCRIPT.yaml',
    env: {},
    ...overrides,
  };
}

describe('createProvider', () => {
  it('builds the scripted provider from a script relative to the loop folder', async () => {
    await writeFile(path.join(dir, 'demo.yaml'), 'turns:\n  - text: from the loop folder\n');
    const provider = await createProvider(options({ script: 'demo.yaml', model: 'demo-model' }));
    expect(provider).toBeInstanceOf(ScriptedProvider);
    const response = await provider.complete(makeRequest());
    expect(response).toMatchObject({ model: 'demo-model', text: 'from the loop folder' });
  });

  it('fails with a config error naming the script file when it is missing', async () => {
    const error = await providerErrorOf(createProvider(options({ script: 'missing.yaml' })));
    expect(error.kind).toBe('config');
    expect(error.message).toContain(path.join(dir, 'missing.yaml'));
  });

  it('builds the Anthropic and OpenAI providers from the env it is given', async () => {
    const anthropic = await createProvider(
      options({ provider: 'anthropic', env: { ANTHROPIC_API_KEY: 'k' } }),
    );
    expect(anthropic).toBeInstanceOf(AnthropicProvider);
    const openai = await createProvider(options({ provider: 'openai', env: { OPENAI_API_KEY: 'k' } }));
    expect(openai).toBeInstanceOf(OpenAIProvider);
  });

  it('passes the base URL through, so an OpenAI-compatible server needs no key', async () => {
    const fake = await startFakeOpenAI(() => ({ text: 'hello from a local model' }));
    try {
      const provider = await createProvider(
        options({ provider: 'openai', baseUrl: fake.url, maxRetries: 0 }),
      );
      expect((await provider.complete(makeRequest())).text).toBe('hello from a local model');
    } finally {
      await fake.close();
    }
  });

  it('names the missing key variable', async () => {
    const anthropic = await providerErrorOf(createProvider(options({ provider: 'anthropic' })));
    expect(anthropic.kind).toBe('missing_key');
    expect(anthropic.message).toContain('ANTHROPIC_API_KEY');
    const openai = await providerErrorOf(createProvider(options({ provider: 'openai' })));
    expect(openai.kind).toBe('missing_key');
    expect(openai.message).toContain('OPENAI_API_KEY');
  });

  it('builds the CLI agent providers', async () => {
    expect(await createProvider(options({ provider: 'claude-code' }))).toBeInstanceOf(ClaudeCodeProvider);
    expect(await createProvider(options({ provider: 'codex' }))).toBeInstanceOf(CodexProvider);
    const command = await createProvider(options({ provider: 'command', command: ['my-agent', '{prompt}'] }));
    expect(command).toBeInstanceOf(CommandProvider);
  });

  it('says the command provider needs agent.command', async () => {
    const error = await providerErrorOf(createProvider(options({ provider: 'command' })));
    expect(error.kind).toBe('config');
    expect(error.provider).toBe('command');
    expect(error.message).toContain('provider command needs agent.command in LOOP.md');
  });
});
