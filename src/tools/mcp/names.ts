/**
 * An MCP tool's name as the model sees it: `mcp__SERVER__TOOL`. Model APIs accept names of at most
 * 64 characters of [a-zA-Z0-9_-]; anything else is replaced, and a name too long is shortened with a
 * hash of the original, so two tools never collide.
 */
import { createHash } from 'node:crypto';

const MAX = 64;

export function mcpToolName(server: string, tool: string): string {
  const clean = `mcp__${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (clean.length <= MAX && clean === `mcp__${server}__${tool}`) return clean;
  const hash = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
  return `${clean.slice(0, MAX - 9)}_${hash}`;
}
