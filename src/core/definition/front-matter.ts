/**
 * Splits a markdown file into its YAML front matter and body, and parses the YAML keeping every node's
 * place so that a problem found later can be pinned to its line.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { DefinitionProblem } from './problems.js';

const FENCE = /^---[ \t]*$/;

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
  const value: unknown = doc.contents === null ? {} : doc.toJS();
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
