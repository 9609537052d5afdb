/**
 * LOOP.md settings that validate but do nothing yet. Nothing is accepted and ignored: `loops validate`
 * warns about each one a loop sets. When a feature lands, delete its line here (and from
 * docs/loop-file.md's "not yet" notes).
 */
import type { YamlBlock } from './front-matter.js';
import { valueAt } from './issues.js';
import { fieldName } from './problems.js';
import type { DefinitionProblem } from './problems.js';

export const NOT_YET_ENFORCED: ReadonlyArray<{ path: readonly string[]; what: string }> = [];

/** A warning for each not-yet-enforced setting the YAML gives a value (an empty list or map is none). */
export function notYetEnforced(yaml: YamlBlock, file: string): DefinitionProblem[] {
  return NOT_YET_ENFORCED.filter(({ path }) => yaml.has(path) && !isEmpty(valueAt(yaml.value, path))).map(
    ({ path, what }) => ({
      file,
      line: yaml.lineOf(path),
      field: fieldName(path),
      message: `not yet enforced: ${what}`,
    }),
  );
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}
