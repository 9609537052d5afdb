/**
 * The default approval policy of a connector's tools, from the hints its server gives them (MCP tool
 * annotations). The specification's defaults are the cautious ones: a tool is not read-only unless it
 * says so, and a tool that is not read-only may be destructive unless it says it is not. So, under the
 * default policy (`approve: hinted` on the server), a tool asks a person before each call when it may
 * be destructive, and a read-only one never asks. `always` asks for every tool of the server (hints not
 * trusted), `never` for none (only the loop's `approve:` rules ask). Hints are the server's own claims:
 * a server the loop does not trust should get `always`.
 */
import type { Tool } from '../../tools/types.js';

export const HINT_POLICIES = ['hinted', 'always', 'never'] as const;
export type HintPolicy = (typeof HINT_POLICIES)[number];

/** A connector tool that asks by the policy, and why, in the words approval events carry. */
export interface HintedTool {
  /** As the model calls it (mcp__SERVER__TOOL). */
  name: string;
  server: string;
  tool: string;
  /** Shown where a rule would be (approval.requested's `rule`): what made it ask. */
  reason: string;
}

/** The tools among `tools` that ask a person before each call, by their server's policy. */
export function toolsThatAsk(tools: readonly Tool[], policyOf: (server: string) => HintPolicy): HintedTool[] {
  const out: HintedTool[] = [];
  for (const t of tools) {
    if (!t.mcp) continue;
    const policy = policyOf(t.mcp.server);
    const at = `mcp:${t.mcp.server}/${t.mcp.tool}`;
    if (policy === 'always')
      out.push({ ...names(t), reason: `approve: always on server ${t.mcp.server}, for ${at}` });
    else if (policy === 'hinted' && !t.mcp.readOnly && t.mcp.destructive)
      out.push({ ...names(t), reason: `${at} may be destructive, by its server's hints` });
  }
  return out;
}

function names(t: Tool): Pick<HintedTool, 'name' | 'server' | 'tool'> {
  return { name: t.spec.name, server: t.mcp?.server ?? '', tool: t.mcp?.tool ?? '' };
}
