/** Which approval rule, if any, a tool call matches, and the part of the call it matched. */
import path from 'node:path';
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
    const rule = rules.find(
      (r) =>
        r.kind === candidate.kind &&
        (r.test(candidate.text) || (candidate.open === true && r.testPrefix(`${candidate.text} `))),
    );
    if (rule) return { rule, matched: candidate.text };
  }
  return undefined;
}

interface Candidate {
  kind: ApprovalRule['kind'];
  text: string;
  /** More words follow at run time (`xargs git`): a rule matches when it could match any of them. */
  open?: boolean;
}

/** Everything in a call that a rule can match, most specific first. */
export function candidatesFor(call: ToolCallRecord, origin?: McpOrigin): Candidate[] {
  if (origin) return [{ kind: 'mcp', text: `${origin.server}/${origin.tool}` }];
  const input = isRecord(call.input) ? call.input : {};
  if (call.name === 'run') {
    const command = typeof input['command'] === 'string' ? input['command'] : '';
    return runCandidates(command);
  }
  if (WRITE_TOOLS.has(call.name)) {
    const target = typeof input['path'] === 'string' ? input['path'] : '';
    return writeCandidates(target).map((text) => ({ kind: 'write' as const, text }));
  }
  const mcp = mcpName(call.name);
  return mcp ? [{ kind: 'mcp', text: mcp }] : [];
}

/**
 * Each simple command at each wrapper layer, with and without its redirections (so a rule about
 * `> .env` can be written as a run: rule), and the whole line last.
 */
export function runCandidates(command: string): Candidate[] {
  const out = new Map<string, Candidate>();
  const add = (text: string, open = false): void => {
    const known = out.get(text);
    if (!known || (open && !known.open)) out.set(text, { kind: 'run', text, ...(open ? { open } : {}) });
  };
  for (const simple of splitCommands(command)) {
    const redirects = simple.redirects.map((r) => `${r.op} ${r.target}`).join(' ');
    let open = false;
    for (const layer of commandLayers(simple.argv)) {
      const words = layer.join(' ');
      add(words, open);
      if (redirects) add(words ? `${words} ${redirects}` : redirects);
      // What xargs runs gets its last words from its input.
      open ||= baseName(layer[0] ?? '') === 'xargs';
    }
    if (simple.argv.length === 0 && redirects) add(redirects);
  }
  add(command);
  return [...out.values()];
}

/**
 * The path as written and as the file tools resolve it: `a/../.env` and `./.env` are `.env`. An
 * absolute path (the tools take one inside the worktree) is matched by each of its tails, so
 * `/…/worktree/.env` is asked about under `write:.env`: asking once too often is safe.
 */
export function writeCandidates(target: string): string[] {
  const out = [target];
  const normal = path.posix.normalize(target.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(normal)) {
    const parts = normal.split('/').filter(Boolean);
    for (let k = 0; k < parts.length; k += 1) out.push(parts.slice(k).join('/'));
  } else {
    out.push(normal.replace(/^(\.\/)+/, ''));
  }
  return [...new Set(out)];
}

function baseName(word: string): string {
  return word.split('/').pop() ?? word;
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
