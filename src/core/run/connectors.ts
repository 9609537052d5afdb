/**
 * Starts the loop's MCP servers for one run (before its first iteration) and stops them after its
 * last, with their stderr and what each offers recorded in the trace. A server that cannot start
 * fails the run with an error naming it, before anything is spent.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { Tool } from '../../tools/types.js';
import { Connectors, type Spawn } from '../../tools/mcp/connectors.js';
import { scrubEnv } from '../../tools/env.js';
import type { Emitter } from './emitter.js';

export interface RunConnectors {
  tools: Tool[];
  close(): Promise<void>;
}

const NONE: RunConnectors = { tools: [], close: () => Promise.resolve() };

/** stderr lines are batched per chunk and capped, so a chatty server cannot flood the trace. */
const LOG_CHARS = 2_000;

export async function openRunConnectors(
  def: LoopDefinition,
  worktree: string,
  emitter: Emitter,
  env: NodeJS.ProcessEnv,
  prepare: (spawn: Spawn) => Spawn = (spawn) => spawn,
): Promise<RunConnectors> {
  if (def.agent.mcp.length === 0) return NONE;
  const connectors = await Connectors.open(def.agent.mcp, {
    worktree,
    baseEnv: scrubEnv(env),
    sourceEnv: env,
    prepare,
    onLog: (server, text) => {
      const trimmed = text.trimEnd();
      if (trimmed) emitter.emit({ type: 'connector.log', server, text: trimmed.slice(0, LOG_CHARS) });
    },
  });
  for (const s of connectors.summary()) emitter.emit({ type: 'connector.started', ...s });
  return { tools: connectors.tools, close: () => connectors.close() };
}
