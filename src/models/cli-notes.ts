/**
 * What `loops validate` says about agent settings a provider does not act on, so nothing is accepted
 * and ignored: a base URL the command and scripted providers never use, MCP servers an agent that
 * makes its own tool calls is never given, and (from the environment) an OPENAI_BASE_URL current Codex
 * no longer reads.
 */
import { valueAt } from '../core/definition/issues.js';
import type { LoopPlace } from '../core/definition/loop-checks.js';
import { fieldName } from '../core/definition/problems.js';
import type { DefinitionProblem } from '../core/definition/problems.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import { readVar } from './env.js';

/** Providers that make their own tool calls: loops' connectors are never offered to them. */
const OWN_TOOLS = new Set(['claude-code', 'codex', 'command']);

/** Warnings, with their line, for agent settings the loop's provider does not use. */
export function agentSettingWarnings(place: LoopPlace): DefinitionProblem[] {
  const provider = valueAt(place.yaml.value, ['agent', 'provider']);
  if (typeof provider !== 'string') return [];
  const out: DefinitionProblem[] = [];
  const at = (path: string[], message: string): void => {
    out.push({ file: place.file, line: place.yaml.lineOf(path), field: fieldName(path), message });
  };
  const baseUrl = valueAt(place.yaml.value, ['agent', 'base_url']);
  if (typeof baseUrl === 'string' && (provider === 'command' || provider === 'scripted')) {
    at(
      ['agent', 'base_url'],
      `not used: the ${provider} provider calls no model API, so agent.base_url changes nothing` +
        (provider === 'command' ? ' (point the command at its endpoint yourself)' : ''),
    );
  }
  const mcp = valueAt(place.yaml.value, ['agent', 'mcp']);
  if (Array.isArray(mcp) && mcp.length > 0 && OWN_TOOLS.has(provider)) {
    at(
      ['agent', 'mcp'],
      `not used: the ${provider} agent makes its own tool calls, so loops does not start these servers ` +
        'for it; configure MCP servers in the agent itself',
    );
  }
  return out;
}

/** Notes on a valid loop that depend on loops' environment (validate's, as a run would see it). */
export function cliAgentNotes(def: LoopDefinition, env: NodeJS.ProcessEnv): string[] {
  if (def.agent.provider !== 'codex' || def.agent.base_url !== undefined) return [];
  const fromEnv = readVar(env, 'OPENAI_BASE_URL');
  if (fromEnv === undefined) return [];
  return [
    `codex: OPENAI_BASE_URL (${fromEnv}) is passed to Codex, but current Codex no longer reads it and ` +
      'uses its own configured endpoint; set agent.base_url to point Codex elsewhere',
  ];
}
