/**
 * A loop's model provider, made from its definition: the one place that maps `agent:` (provider, model,
 * base_url, script, command) and the loop's approval rules (Claude Code's refused tools) onto the
 * provider factory. Runs, evaluation re-runs, the analyst and triage all make theirs here.
 */
import type { LoopDefinition } from '../definition/schema.js';
import { claudeCodeDisallowedTools } from '../approval/providers.js';
import { createProvider, type ProviderOptions } from '../../models/factory.js';
import type { ModelProvider } from '../../models/provider.js';

export interface LoopProviderOptions extends Pick<ProviderOptions, 'sandbox' | 'maxRetries'> {
  /** Wraps the provider (the demo paces the scripted model). */
  wrap?: (provider: ModelProvider) => ModelProvider;
}

export async function loopProvider(
  def: LoopDefinition,
  env: NodeJS.ProcessEnv,
  options: LoopProviderOptions = {},
): Promise<ModelProvider> {
  const provider = await createProvider({
    provider: def.agent.provider,
    model: def.model,
    ...(def.agent.base_url ? { baseUrl: def.agent.base_url } : {}),
    loopDir: def.dir,
    script: def.agent.script,
    ...(def.agent.command ? { command: def.agent.command } : {}),
    disallowedTools: claudeCodeDisallowedTools(def.approve),
    env,
    ...(options.sandbox ? { sandbox: options.sandbox } : {}),
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
  });
  return options.wrap ? options.wrap(provider) : provider;
}
