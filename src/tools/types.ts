/** The agent's tools: what each does is confined to the run's worktree. */
import type { ToolSpec } from '../models/provider.js';

export interface ToolContext {
  /** Absolute path of the worktree; every path the agent names resolves inside it. */
  worktree: string;
  signal?: AbortSignal;
  /** Limit for the `run` tool, milliseconds. */
  runTimeoutMs: number;
  /** Output returned to the model is capped at this many characters. */
  outputCap: number;
  /** Paths (globs relative to the worktree) the agent may read but never write. */
  protectedPaths: string[];
}

export interface ToolResult {
  ok: boolean;
  /** What the model sees: the output, or the error and what to do about it. */
  output: string;
}

export interface Tool {
  spec: ToolSpec;
  /** Set for a connector's tool: which server and tool it is, and the hints the approval policy reads. */
  mcp?: { server: string; tool: string; readOnly: boolean; destructive: boolean };
  execute(input: unknown, ctx: ToolContext): Promise<ToolResult>;
}
