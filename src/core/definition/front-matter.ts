/**
 * Splits a markdown file into its YAML front matter and body, and parses the YAML keeping every node's
 * place so that a problem found later can be pinned to its line.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document } from 'yaml';
import type { DefinitionProblem } from './problems.js';

const FENCE = /^---[ \t]*$/;

/**
 * Anchors and aliases are fine for a few shared settings; past this many alias expansions the YAML is
 * an "alias bomb" (a few lines that expand to gigabytes) and is refused before it is expanded.
 */
export const MAX_YAML_ALIASES = 100;

/**
 * Brackets nested deeper than this are no settings anyone writes; the parser would spend seconds
 * recursing into them before it overflows its stack.
 */
export const MAX_YAML_NESTING = 100;

/**
 * The line at which flow collections (`[`, `{`) or one line's block sequences (`- - - x`) nest
 * deeper than MAX_YAML_NESTING, or undefined. Quotes are not parsed: a bracket inside a string counts
 * too, which only matters past 100 of them.
 */
export function tooDeeplyNested(yamlText: string): number | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = true;
  let dashes = 0;
  for (const char of yamlText) {
    if (lineStart) {
      if (char === '-') {
        dashes++;
        if (dashes > MAX_YAML_NESTING) return line;
        continue;
      }
      if (char === ' ' || char === '\t') continue;
      lineStart = false;
    }
    if (char === '\n') {
      line++;
      lineStart = true;
      dashes = 0;
    } else if (char === '[' || char === '{') {
      depth++;
      if (depth > MAX_YAML_NESTING) return line;
    } else if ((char === ']' || char === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** Explicit tags that only restate what YAML would read anyway; any other tag is refused. */
const PLAIN_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((name) => `tag:yaml.org,2002:${name}`),
);

export interface MarkdownParts {
  yamlText: string;
  /** File line of the first YAML line (the one after the opening ---). */
  yamlLine: number;
  body: string;
  /** File line of the first body line (the one after the closing ---). */
  bodyLine: number;
}

export type SplitResult = { ok: true; parts: MarkdownParts } | { ok: false; problem: DefinitionProblem };

export function splitFrontMatter(text: string, file: string): SplitResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? '')) {
    return {
      ok: false,
      problem: {
        file,
        line: 1,
        field: '(front matter)',
        message: 'no front matter: the file must start with a line "---", then the YAML settings, then "---"',
      },
    };
  }
  const close = lines.findIndex((line, index) => index > 0 && FENCE.test(line));
  if (close === -1) {
    return {
      ok: false,
      problem: {
        file,
        line: 1,
        field: '(front matter)',
        message: 'the front matter is not closed: add a line "---" after the settings',
      },
    };
  }
  return {
    ok: true,
    parts: {
      yamlText: lines.slice(1, close).join('\n'),
      yamlLine: 2,
      body: lines.slice(close + 1).join('\n'),
      bodyLine: close + 2,
    },
  };
}

export interface YamlBlock {
  /** The YAML as plain data; an empty block is {}. */
  value: unknown;
  /**
   * The file line of the node at `path`: a map entry's key, a list item. When the path runs out
   * (a missing key), the line of the deepest part that exists, so "add it here" points somewhere useful.
   */
  lineOf(path: readonly PropertyKey[]): number;
  /** Whether every step of `path` exists in the YAML. */
  has(path: readonly PropertyKey[]): boolean;
}

export type YamlResult = { ok: true; yaml: YamlBlock } | { ok: false; problems: DefinitionProblem[] };

export function parseYamlBlock(parts: MarkdownParts, file: string): YamlResult {
  const deep = tooDeeplyNested(parts.yamlText);
  if (deep !== undefined) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: deep + parts.yamlLine - 1,
          field: '(front matter)',
          message: `the YAML nests lists or maps deeper than ${MAX_YAML_NESTING} levels`,
        },
      ],
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(parts.yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const toFileLine = (offset: number): number => lineCounter.linePos(offset).line + parts.yamlLine - 1;
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => ({
        file,
        line: toFileLine(error.pos[0]),
        field: '(front matter)',
        message: `YAML syntax: ${firstLine(error.message)}`,
      })),
    };
  }
  const tagged = customTags(doc).map((found) => ({
    file,
    line: toFileLine(found.offset),
    field: '(front matter)',
    message: `the YAML tag ${found.tag} is not allowed: loops settings are plain text, numbers, lists and maps`,
  }));
  if (tagged.length > 0) return { ok: false, problems: tagged };
  let value: unknown;
  try {
    value = doc.contents === null ? {} : doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      problems: [
        {
          file,
          line: toFileLine(firstAlias(doc) ?? 0),
          field: '(front matter)',
          message: /alias/i.test(message)
            ? `the YAML aliases expand too far (over ${MAX_YAML_ALIASES}): write the settings out instead of repeating *aliases`
            : `the YAML could not be read: ${firstLine(message)}`,
        },
      ],
    };
  }
  return {
    ok: true,
    yaml: {
      value: value ?? {},
      lineOf: (path) => {
        const found = walk(doc, path);
        return found.offset === undefined ? parts.yamlLine : toFileLine(found.offset);
      },
      has: (path) => walk(doc, path).complete,
    },
  };
}

/** Every explicit tag beyond the plain ones (`!foo`, `!!binary`, `!<tag:x>`), with where it is. */
function customTags(doc: Document): Array<{ tag: string; offset: number }> {
  const found: Array<{ tag: string; offset: number }> = [];
  visit(doc, {
    Node: (_key, node) => {
      if (node.tag !== undefined && !PLAIN_TAGS.has(node.tag)) {
        found.push({ tag: node.tag.replace(/^tag:yaml\.org,2002:/, '!!'), offset: node.range?.[0] ?? 0 });
      }
    },
  });
  return found;
}

function firstAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias: (_key, node) => {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function walk(
  doc: Document,
  path: readonly PropertyKey[],
): { offset: number | undefined; complete: boolean } {
  let node: unknown = doc.contents;
  let offset = startOf(node);
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) return { offset, complete: false };
      offset = startOf(pair.key) ?? startOf(pair.value) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) return { offset, complete: false };
      offset = startOf(item) ?? offset;
      node = item;
    } else {
      return { offset, complete: false };
    }
  }
  return { offset, complete: true };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function startOf(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}
