/**
 * Starts the loop's MCP servers for one run (before its first iteration) and stops them after its
 * last, with their stderr and what each offers recorded in the trace. A server that cannot start
 * fails the run with an error naming it, before anything is spent.
 *
 * Once the servers have listed their tools, the ones that will ask a person before each call (by their
 * hints and the server's `approve:` policy, core/approval/hints.ts) go to the run's approval gate, and a
 * note names them: only then is it known which they are.
 */
import type { LoopDefinition } from '../definition/schema.js';
import type { Tool } from '../../tools/types.js';
import { Connectors } from '../../tools/mcp/connectors.js';
import { scrubEnv } from '../../process/env.js';
import type { Sandbox } from '../../process/sandbox.js';
import type { Emitter } from './emitter.js';
import type { ApprovalGate } from '../approval/gate.js';
import { toolsThatAsk } from '../approval/hints.js';

/** Providers that make their own tool calls: loops' connectors would never be offered to them. */
const OWN_TOOLS = new Set(['claude-code', 'codex', 'command']);

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
  sandbox: Sandbox,
  gate?: ApprovalGate,
): Promise<RunConnectors> {
  if (def.agent.mcp.length === 0) return NONE;
  if (OWN_TOOLS.has(def.agent.provider)) {
    // Started, they would cost a start and offer nothing: say so rather than start them for nobody.
    emitter.emit({
      type: 'run.error',
      kind: 'connector.unused',
      message:
        `agent.mcp is not used: the ${def.agent.provider} agent makes its own tool calls, so loops does not ` +
        `start ${def.agent.mcp.map((s) => s.name).join(', ')}; configure MCP servers in the agent itself`,
    });
    return NONE;
  }
  const connectors = await Connectors.open(def.agent.mcp, {
    worktree,
    baseEnv: scrubEnv(env),
    sourceEnv: env,
    // A stdio server is code the loop runs on the agent's behalf: it is confined like the agent's shell.
    prepare: (spawn) => sandbox.prepareCommand({ ...spawn, profile: 'agent' }),
    // A server that dies mid-run is news at once, with what its stderr said last, not at its next call.
    onExit: (_server, message) => emitter.emit({ type: 'run.error', kind: 'connector', message }),
    onLog: (server, text) => {
      const trimmed = text.trimEnd();
      if (trimmed) emitter.emit({ type: 'connector.log', server, text: trimmed.slice(0, LOG_CHARS) });
    },
  });
  for (const s of connectors.summary()) emitter.emit({ type: 'connector.started', ...s });
  const policies = new Map(def.agent.mcp.map((s) => [s.name, s.approve]));
  const asking = toolsThatAsk(connectors.tools, (server) => policies.get(server) ?? 'hinted');
  gate?.addHinted(asking);
  gate?.addConnectorTools(
    connectors.tools.flatMap((t) =>
      t.mcp ? [{ name: t.spec.name, server: t.mcp.server, tool: t.mcp.tool }] : [],
    ),
  );
  for (const server of def.agent.mcp) {
    const tools = asking.filter((t) => t.server === server.name).map((t) => t.tool);
    if (tools.length === 0) continue;
    const why = server.approve === 'always' ? 'approve: always' : 'their hints say they may be destructive';
    emitter.emit({
      type: 'run.error',
      kind: 'approval.hinted',
      message:
        `MCP server ${server.name}: ${tools.join(', ')} ask a person before each call (${why}); ` +
        `a run with nobody to ask denies them. Set approve: never on the server to let them run`,
    });
  }
  return { tools: connectors.tools, close: () => connectors.close() };
}
