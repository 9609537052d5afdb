/**
 * RUBRIC.md: the criteria the rubric judge scores against. Either "## criterion" sections (the heading
 * names it, the section says what it means) or, without such headings, one criterion per line.
 */
import { readText } from './files.js';
import type { DefinitionProblem } from './problems.js';
import type { RubricCriterion } from './schema.js';

const SECTION = /^##(?!#)\s*(.*?)\s*#*\s*$/;
const BULLET = /^(?:[-*+]|\d+[.)])\s+/;

export function parseRubric(text: string): RubricCriterion[] {
  const lines = text.replace(/<!--[\s\S]*?(?:-->|$)/g, '').split(/\r?\n/);
  return lines.some((line) => SECTION.test(line)) ? sections(lines) : perLine(lines);
}

function sections(lines: readonly string[]): RubricCriterion[] {
  const criteria: RubricCriterion[] = [];
  let current: { name: string; body: string[] } | undefined;
  const finish = (): void => {
    if (current === undefined || current.name === '') return;
    const text = current.body.join('\n').trim();
    criteria.push({ name: current.name, text: text === '' ? current.name : text });
  };
  for (const line of lines) {
    const heading = SECTION.exec(line);
    if (heading !== null) {
      finish();
      current = { name: heading[1] ?? '', body: [] };
    } else {
      current?.body.push(line);
    }
  }
  finish();
  return criteria;
}

function perLine(lines: readonly string[]): RubricCriterion[] {
  const texts = lines.map((line) => line.trim()).filter((line) => line !== '');
  if (texts[0]?.startsWith('# ') === true) texts.shift();
  return texts
    .map((line) => line.replace(BULLET, '').trim())
    .filter((line) => line !== '')
    .map((line) => ({ name: line, text: line }));
}

export type RubricLoad =
  | { kind: 'loaded'; criteria: RubricCriterion[] }
  | { kind: 'missing' }
  | { kind: 'invalid'; problem: DefinitionProblem };

/** Reads and parses a rubric file; `file` is its repo-relative name for problems. */
export async function loadRubricFile(absolute: string, file: string, repoRoot?: string): Promise<RubricLoad> {
  const read = await readText(absolute, file, repoRoot);
  if (read.kind === 'missing') return read;
  if (read.kind === 'error') return { kind: 'invalid', problem: read.problem };
  const criteria = parseRubric(read.text);
  if (criteria.length === 0) {
    return {
      kind: 'invalid',
      problem: {
        file,
        line: 1,
        field: '(rubric)',
        message: 'the rubric has no criteria: write one criterion per line, or "## criterion" sections',
      },
    };
  }
  return { kind: 'loaded', criteria };
}
