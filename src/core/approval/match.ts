/** Which approval rule, if any, a tool call matches, and the part of the call it matched. */
import type { ToolCallRecord } from '../events.js';
import type { ApprovalRule } from './rules.js';
import { commandLayers, splitCommands } from './shell.js';

export interface RuleMatch {
  rule: ApprovalRule;
  /** The simple command, path or tool name the rule matched. */
  matched: string;
}

/** Tools that write a file named by their `path` argument. */
const WRITE_TOOLS = new Set(['write_file', 'edit_file']);

/** A connector tool's own names, as its server gives them (before any shortening for the model). */
export interface McpOrigin {
  server: string;
  tool: string;
}

/**
 * `origin` is the connector tool the call's name stands for, when the caller knows it: a tool whose
 * name the model could not take as it is (a dot, a slash, over 64 characters) reaches the model under
 * a shortened name with a hash (tools/mcp/names.ts), and an `mcp:` rule names it as its server does.
 */
export function matchCall(
  rules: readonly ApprovalRule[],
  call: ToolCallRecord,
  origin?: McpOrigin,
): RuleMatch | undefined {
  for (const candidate of candidatesFor(call, origin)) {
    const rule = rules.find((r) => r.kind === candidate.kind && r.test(candidate.text));
    if (rule) return { rule, matched: candidate.text };
  }
  return undefined;
}

interface Candidate {
  kind: ApprovalRule['kind'];
  text: string;
}

/** Everything in a call that a rule can match, most specific first. */
export function candidatesFor(call: ToolCallRecord, origin?: McpOrigin): Candidate[] {
  if (origin) return [{ kind: 'mcp', text: `${origin.server}/${origin.tool}` }];
  const input = isRecord(call.input) ? call.input : {};
  if (call.name === 'run') {
    const command = typeof input['command'] === 'string' ? input['command'] : '';
    return runCandidates(command).map((text) => ({ kind: 'run' as const, text }));
  }
  if (WRITE_TOOLS.has(call.name)) {
    const target = typeof input['path'] === 'string' ? input['path'] : '';
    return [{ kind: 'write', text: target }];
  }
  const mcp = mcpName(call.name);
  return mcp ? [{ kind: 'mcp', text: mcp }] : [];
}

/**
 * Each simple command at each wrapper layer, with and without its redirections (so a rule about
 * `> .env` can be written as a run: rule), and the whole line last.
 */
export function runCandidates(command: string): string[] {
  const out: string[] = [];
  for (const simple of splitCommands(command)) {
    const redirects = simple.redirects.map((r) => `${r.op} ${r.target}`).join(' ');
    for (const layer of commandLayers(simple.argv)) {
      const words = layer.join(' ');
      out.push(words);
      if (redirects) out.push(words ? `${words} ${redirects}` : redirects);
    }
    if (simple.argv.length === 0 && redirects) out.push(redirects);
  }
  out.push(command);
  return [...new Set(out)];
}

/**
 * Without an origin: connector tools are named `mcp__SERVER__TOOL` (or `SERVER/TOOL`); rules write them
 * SERVER/TOOL. Right only for names that were not shortened, so the gate passes the origin it knows.
 */
function mcpName(name: string): string | undefined {
  const dunder = /^mcp__([^_].*?)__(.+)$/.exec(name);
  if (dunder) return `${dunder[1]}/${dunder[2]}`;
  if (/^[^/]+\/[^/]+$/.test(name)) return name;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
