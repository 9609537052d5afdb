/**
 * Approval rules for agents that make their own tool calls. Claude Code has a permission list: each
 * rule becomes a `--disallowedTools` entry, so Claude Code itself refuses a matching call (it cannot
 * wait for a person in `-p` mode, so such calls are denied, never asked). Codex and the command
 * provider have no such list; `loops validate` names their rules as not enforced.
 */
import type { ApprovalRule } from './rules.js';
import { parseRules } from './rules.js';

export interface ClaudePermission {
  /** The Claude Code permission rule(s). */
  entries: string[];
  /** Where Claude Code's matching differs from loops'. */
  note?: string;
}

export function claudeCodePermission(rule: ApprovalRule): ClaudePermission {
  switch (rule.kind) {
    case 'run':
      // Claude Code splits compound commands itself and matches `*` as any text.
      return { entries: [`Bash(${rule.pattern})`] };
    case 'write': {
      const lone = /(^|[^*])\*([^*]|$)/.test(rule.pattern);
      return {
        entries: [`Edit(${rule.pattern})`, `Write(${rule.pattern})`],
        ...(lone
          ? {
              note:
                'in Claude Code a single * does not cross /, so it catches fewer paths than in loops; ' +
                'write ** to cover folders',
            }
          : {}),
      };
    }
    case 'mcp': {
      const [server = '', tool = ''] = rule.pattern.split('/');
      return { entries: [`mcp__${server}__${tool}`] };
    }
  }
}

/** The `--disallowedTools` value for a loop's `approve:` rules, or [] when there are none. */
export function claudeCodeDisallowedTools(approve: readonly string[]): string[] {
  return parseRules(approve).flatMap((rule) => claudeCodePermission(rule).entries);
}
