/**
 * Builds the provider a loop names. The SDKs are imported only when their provider is chosen: they
 * cost a quarter of a second each at startup, and a scripted or offline run needs neither. The CLI
 * agents (claude-code, codex, command) are given the whole env and pass their child only what it needs
 * (cli-env.ts): the rest of it is what they cut out of the agent's reports.
 */
import path from 'node:path';
import type { ProviderName } from '../core/definition/schema.js';
import type { ModelProvider } from './provider.js';
import type { RunSandbox } from '../process/run-sandbox.js';

export interface ProviderOptions {
  provider: ProviderName;
  model: string;
  baseUrl?: string;
  /** Absolute loop folder; the scripted provider's script path is relative to it. */
  loopDir: string;
  /** agent.script */
  script: string;
  /** Where API keys and base URLs are read from (never process.env directly). */
  env: NodeJS.ProcessEnv;
  /** Passed to the SDKs; default 2. */
  maxRetries?: number;
  /** agent.command, for the command provider. */
  command?: readonly string[];
  /**
   * The run's sandbox: the command provider runs inside it; claude-code and codex run under their own
   * sandbox and get only the variables it passes through on purpose.
   */
  sandbox?: RunSandbox;
  /** Claude Code permission rules it must refuse (from the loop's `approve:` rules). */
  disallowedTools?: readonly string[];
}

export async function createProvider(opts: ProviderOptions): Promise<ModelProvider> {
  const common = { env: opts.env, baseUrl: opts.baseUrl, maxRetries: opts.maxRetries ?? 2 };
  switch (opts.provider) {
    case 'anthropic': {
      const { AnthropicProvider } = await import('./anthropic.js');
      return new AnthropicProvider(common);
    }
    case 'openai': {
      const { OpenAIProvider } = await import('./openai.js');
      return new OpenAIProvider(common);
    }
    case 'scripted': {
      const { ScriptedProvider, loadScript } = await import('./scripted.js');
      const script = await loadScript(path.resolve(opts.loopDir, opts.script));
      return new ScriptedProvider(script, { model: opts.model });
    }
    case 'claude-code': {
      const { ClaudeCodeProvider } = await import('./claude-code.js');
      return new ClaudeCodeProvider({
        env: opts.env,
        passEnv: opts.sandbox?.passedEnv ?? {},
        ...(opts.disallowedTools ? { disallowedTools: opts.disallowedTools } : {}),
        ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      });
    }
    case 'codex': {
      const { CodexProvider } = await import('./codex.js');
      return new CodexProvider({
        env: opts.env,
        passEnv: opts.sandbox?.passedEnv ?? {},
        ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      });
    }
    case 'command': {
      const { CommandProvider } = await import('./command.js');
      return new CommandProvider({
        command: opts.command ?? [],
        env: opts.env,
        ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
      });
    }
  }
}
