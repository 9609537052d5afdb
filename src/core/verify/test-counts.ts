/**
 * Test counts read from a test runner's summary: a progress signal (fewer failures is progress
 * even while the command still fails). Each parser reads one runner's closing lines; counts from
 * several summaries of the same runner (workspaces, several test binaries) are added up.
 */
import { stripVTControlCharacters } from 'node:util';

export interface TestCounts {
  passed: number;
  failed: number;
}

type Parser = (output: string) => TestCounts | undefined;

function count(text: string, word: RegExp): number {
  const match = word.exec(text);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/** Adds up `read(line)` over every line `summary` matches; undefined when none does. */
function sumLines(
  output: string,
  summary: RegExp,
  read: (line: string) => TestCounts,
): TestCounts | undefined {
  let found: TestCounts | undefined;
  for (const line of output.split('\n')) {
    if (!summary.test(line)) continue;
    const counts = read(line);
    found = { passed: (found?.passed ?? 0) + counts.passed, failed: (found?.failed ?? 0) + counts.failed };
  }
  return found;
}

/** vitest: " Tests  3 failed | 5 passed (8)" (not the "Test Files" line above it). */
const vitest: Parser = (output) =>
  sumLines(output, /^\s*Tests\s{2,}\d+ (failed|passed|skipped|todo)/, (line) => ({
    passed: count(line, /(\d+) passed/),
    failed: count(line, /(\d+) failed/),
  }));

/** jest: "Tests:       1 failed, 5 passed, 6 total". */
const jest: Parser = (output) =>
  sumLines(output, /^\s*Tests:\s+.*\d+ total/, (line) => ({
    passed: count(line, /(\d+) passed/),
    failed: count(line, /(\d+) failed/),
  }));

/** node:test, TAP ("# pass 5" / "# fail 1") or spec ("ℹ pass 5") reporter. */
const nodeTest: Parser = (output) => {
  const pass = [...output.matchAll(/^(?:#|ℹ) pass (\d+)\s*$/gm)];
  const fail = [...output.matchAll(/^(?:#|ℹ) fail (\d+)\s*$/gm)];
  if (pass.length === 0 && fail.length === 0) return undefined;
  const sum = (matches: RegExpMatchArray[]) => matches.reduce((total, m) => total + Number(m[1] ?? 0), 0);
  return { passed: sum(pass), failed: sum(fail) };
};

/** pytest: "==== 1 failed, 5 passed, 1 error in 0.12s ====" or a bare "5 passed in 0.10s". */
const pytest: Parser = (output) =>
  sumLines(
    output,
    /^=*\s*(\d+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?),?\s*)+in [\d.]+s/,
    (line) => ({
      passed: count(line, /(\d+) passed/),
      failed: count(line, /(\d+) failed/) + count(line, /(\d+) errors?\b/),
    }),
  );

/** mocha: "  5 passing (20ms)" / "  1 failing". */
const mocha: Parser = (output) => {
  if (!/^\s*\d+ passing \(/m.test(output)) return undefined;
  return {
    passed: count(output, /^\s*(\d+) passing \(/m),
    failed: count(output, /^\s*(\d+) failing\s*$/m),
  };
};

/** cargo test: "test result: FAILED. 5 passed; 1 failed; 0 ignored", one line per test binary. */
const cargo: Parser = (output) =>
  sumLines(output, /^test result: /, (line) => ({
    passed: count(line, /(\d+) passed/),
    failed: count(line, /(\d+) failed/),
  }));

/** go test -v: "--- PASS: TestX" / "--- FAIL: TestX" lines. */
const goTest: Parser = (output) => {
  const passed = output.match(/^\s*--- PASS: /gm)?.length ?? 0;
  const failed = output.match(/^\s*--- FAIL: /gm)?.length ?? 0;
  return passed + failed > 0 ? { passed, failed } : undefined;
};

const PARSERS: readonly Parser[] = [vitest, jest, nodeTest, pytest, mocha, cargo, goTest];

/** The first runner whose summary appears in `output`, or undefined when none does. */
export function parseTestCounts(output: string): TestCounts | undefined {
  const plain = stripVTControlCharacters(output).replace(/\r\n?/g, '\n');
  for (const parse of PARSERS) {
    const counts = parse(plain);
    if (counts) return counts;
  }
  return undefined;
}
