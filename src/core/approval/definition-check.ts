/**
 * What `loops validate` says about a loop's `approve:` rules: a rule that does not parse is a problem
 * with its file and line; a rule the loop's agent cannot have enforced, or one that may not mean what
 * it seems to, is a note.
 */
import { valueAt } from '../definition/issues.js';
import type { LoopPlace } from '../definition/loop-checks.js';
import type { DefinitionProblem } from '../definition/problems.js';
import type { LoopDefinition } from '../definition/schema.js';
import { parseRule, parseRules } from './rules.js';
import { claudeCodePermission } from './providers.js';

export function checkApproveRules(place: LoopPlace): DefinitionProblem[] {
  const approve = valueAt(place.yaml.value, ['approve']);
  if (!Array.isArray(approve)) return [];
  const problems: DefinitionProblem[] = [];
  approve.forEach((raw: unknown, index) => {
    if (typeof raw !== 'string' || raw === '') return; // the schema reports it
    const parsed = parseRule(raw, index);
    if (parsed.ok) return;
    problems.push({
      file: place.file,
      line: place.yaml.lineOf(['approve', index]),
      field: `approve[${index}]`,
      message: parsed.message,
    });
  });
  return problems;
}

/** The rules this loop's agent cannot have enforced: told at run start too, not only by validate. */
export function unenforcedRuleNotes(def: LoopDefinition): string[] {
  const provider = def.agent.provider;
  if (provider !== 'codex' && provider !== 'command') return [];
  return parseRules(def.approve).map(
    (rule) =>
      `approve rule ${rule.raw} is not enforced: the ${provider} agent makes its own tool calls and ` +
      `${provider === 'codex' ? 'Codex has no per-command permission list loops can set' : 'loops cannot see them'}`,
  );
}

/**
 * Which connector tools will ask a person, as far as can be known without starting the servers: the
 * policy of each server, the tools themselves decided by their hints once it starts.
 */
export function mcpHintNotes(def: LoopDefinition): string[] {
  if (['claude-code', 'codex', 'command'].includes(def.agent.provider)) return [];
  return def.agent.mcp.map((server) => {
    const at = `agent.mcp ${server.name}: `;
    if (server.approve === 'never')
      return `${at}no tool asks by its hints (approve: never); approve: rules still ask`;
    const which =
      server.approve === 'always'
        ? 'every tool asks a person before each call (approve: always)'
        : 'tools its hints say may be destructive (and tools with no hints) ask a person before each ' +
          'call, read-only ones never; which they are is known when the server starts, and the run names them';
    return `${at}${which}. A run with nobody to ask denies them`;
  });
}

/** Notes on a valid loop's rules (each names the rule as written) and its connectors' policies. */
export function approvalNotes(def: LoopDefinition): string[] {
  const hinted = mcpHintNotes(def);
  const rules = parseRules(def.approve);
  if (rules.length === 0) return hinted;
  const notes: string[] = [...hinted];
  const provider = def.agent.provider;
  const writes = rules.filter((r) => r.kind === 'write');
  if (writes.length > 0 && def.agent.tools.includes('run')) {
    notes.push(
      `${writes.map((r) => r.raw).join(', ')} match(es) write_file and edit_file; a shell redirect into a file ` +
        '(echo x > FILE) is a run: command, matched by run: rules only (e.g. "run:* > .env*")',
    );
  }
  if (provider === 'codex' || provider === 'command') return [...notes, ...unenforcedRuleNotes(def)];
  if (provider === 'claude-code') {
    notes.push(
      "claude-code: approve rules are passed to Claude Code's --disallowedTools, so a matching call is " +
        'denied, never asked (Claude Code cannot wait for a person here)',
    );
    for (const rule of rules) {
      const mapped = claudeCodePermission(rule);
      if (mapped.note) notes.push(`approve rule ${rule.raw}: ${mapped.note}`);
    }
  }
  const servers = new Set(def.agent.mcp.map((server) => server.name));
  for (const rule of rules.filter((r) => r.kind === 'mcp')) {
    if (provider === 'claude-code') continue;
    const server = rule.pattern.split('/')[0] ?? '';
    if (!server.includes('*') && !server.includes('?') && !servers.has(server))
      notes.push(`approve rule ${rule.raw} names no server in agent.mcp, so it has nothing to match`);
  }
  return notes;
}
