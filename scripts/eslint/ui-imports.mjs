// @ts-check
/**
 * The screen's import boundary as an allowlist: a module under src/ui imports other ui modules, the
 * engine's protocol modules and libraries, and nothing else of ours. A blocklist let every new folder
 * (daemon, fleet, triggers, process...) through until someone remembered to add it.
 */
import { dirname, relative, resolve, sep } from 'node:path';

/** The engine modules the screen may speak (the protocol): commands, events, and their helpers. */
export const UI_ENGINE_PROTOCOL = [
  'core/control.js',
  'core/events.js',
  'core/proposals.js',
  'core/describe.js',
  'core/text.js',
];

/** @type {import('eslint').Rule.RuleModule} */
export const uiImports = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ui imports only ui modules, the engine protocol and libraries' },
    schema: [],
    messages: {
      outside:
        'the screen imports only src/ui, the engine protocol ({{allowed}}) and libraries; "{{source}}" is ' +
        'src/{{target}}: reach it through a port (SupervisorPort, ReviewPort) or an event.',
    },
  },
  create(context) {
    const src = resolve(context.cwd, 'src');
    const fileDir = dirname(resolve(context.cwd, context.filename));
    /** @param {import('estree').Node | null | undefined} node */
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const source = node.value;
      // Packages and node: built-ins are libraries; only our own relative paths are bounded.
      if (!source.startsWith('.')) return;
      const target = relative(src, resolve(fileDir, source)).split(sep).join('/');
      if (target.startsWith('ui/') || UI_ENGINE_PROTOCOL.includes(target)) return;
      context.report({
        node,
        messageId: 'outside',
        data: { source, target, allowed: UI_ENGINE_PROTOCOL.join(', ') },
      });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};
