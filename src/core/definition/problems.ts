/** A problem in a loop's definition files, with the place to fix it. */
export interface DefinitionProblem {
  /** Path relative to the repository root, with forward slashes: "loops/fix-tests/LOOP.md". */
  file: string;
  /** 1-based. */
  line: number;
  /** A dotted path like "budget.usd" or "verify[0].command"; "(front matter)", "(task)" for whole-file issues. */
  field: string;
  message: string;
}

export function formatProblem(p: DefinitionProblem): string {
  return `${p.file}:${p.line}: ${p.field}: ${p.message}`;
}

/** "verify", 0, "command" → "verify[0].command"; the empty path is the whole front matter. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(front matter)' : out;
}
