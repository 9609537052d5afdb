/**
 * The failing part of a test run's output: the failed tests' blocks and assertion messages, which is
 * what the agent needs next, not the whole log. Each reader knows one runner's layout (vitest, jest,
 * node's test runner, pytest, mocha, cargo test, go test); when none recognises the output, lines
 * that look like errors are kept with a little context.
 */
import { stripVTControlCharacters } from 'node:util';

type Reader = (lines: readonly string[]) => string[] | undefined;

/** Stack frames kept at the top of each run of them: where it failed, not how it got there. */
const STACK_KEEP = 2;
const GENERIC_CONTEXT = 2;
const GENERIC_MAX_LINES = 40;

function indexFrom(lines: readonly string[], from: number, test: (line: string) => boolean): number {
  for (let i = Math.max(0, from); i < lines.length; i++) if (test(lines[i] ?? '')) return i;
  return -1;
}

function nonEmpty(lines: string[]): string[] | undefined {
  return lines.some((line) => line.trim() !== '') ? lines : undefined;
}

/** vitest: the "Failed Tests" / "Failed Suites" sections, up to the summary. */
const vitest: Reader = (lines) => {
  const start = indexFrom(lines, 0, (l) => /⎯+\s*Failed (Tests|Suites) \d+\s*⎯+/.test(l));
  if (start < 0) return undefined;
  const end = indexFrom(lines, start, (l) => /^\s*Test Files\s/.test(l));
  return nonEmpty(
    lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => !/^\s*⎯+(\[\d+\/\d+\]⎯*)?\s*$/.test(l)),
  );
};

/** jest: the "● suite › test" blocks (console output blocks left out). */
const jest: Reader = (lines) => {
  const out: string[] = [];
  let keep = false;
  for (const line of lines) {
    if (/^Summary of all failing tests/.test(line)) break;
    if (/^\s*● /.test(line)) {
      keep = !/^\s*● Console\s*$/.test(line);
      if (keep) out.push(line);
      continue;
    }
    if (/^\s*(Test Suites:|Tests:|Snapshots:|Time:)|^\s*(PASS|FAIL)\s+\S/.test(line)) {
      keep = false;
      continue;
    }
    if (keep) out.push(line);
  }
  return nonEmpty(out);
};

/** node --test, spec reporter: the "✖ failing tests:" recap at the end. */
const nodeSpec: Reader = (lines) => {
  const start = indexFrom(lines, 0, (l) => /^✖ failing tests:/.test(l));
  return start < 0 ? undefined : nonEmpty(lines.slice(start + 1));
};

/** node --test, TAP reporter: each "not ok" line and its YAML block, without timings and deep stacks. */
const nodeTap: Reader = (lines) => {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*not ok \d+ - (.*)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const block: string[] = [];
    let j = i + 1;
    if (lines[j]?.trim() === '---') {
      for (j += 1; j < lines.length && lines[j]?.trim() !== '...'; j++) block.push(lines[j] ?? '');
    }
    // A suite fails because a test inside it did; that test has its own block.
    if (block.some((l) => /failureType: 'subtestsFailed'/.test(l))) continue;
    out.push(`not ok - ${match[1] ?? ''}`, ...tapDetails(block));
  }
  return nonEmpty(out);
};

function tapDetails(block: readonly string[]): string[] {
  const out: string[] = [];
  let stackIndent = -1;
  let stackKept = 0;
  for (const line of block) {
    const indent = line.length - line.trimStart().length;
    if (stackIndent >= 0) {
      if (indent > stackIndent || line.trim() === '') {
        if (stackKept++ < STACK_KEEP) out.push(line);
        continue;
      }
      stackIndent = -1;
    }
    if (/^\s*(duration_ms|failureType|type):/.test(line)) continue;
    const stack = /^(\s*)stack: \|-?\s*$/.exec(line);
    if (stack) {
      stackIndent = stack[1]?.length ?? 0;
      stackKept = 0;
    }
    out.push(line);
  }
  return out;
}

/** pytest: the short summary first (one line per failure), then the FAILURES / ERRORS sections. */
const pytest: Reader = (lines) => {
  const details = indexFrom(lines, 0, (l) => /^=+ (FAILURES|ERRORS) =+$/.test(l));
  const summary = indexFrom(lines, 0, (l) => /^=+ short test summary info =+$/.test(l));
  if (details < 0 && summary < 0) return undefined;
  const out: string[] = [];
  if (summary >= 0) {
    const end = indexFrom(lines, summary + 1, (l) => /^=+ /.test(l));
    out.push(...lines.slice(summary + 1, end < 0 ? undefined : end), '');
  }
  if (details >= 0) {
    const end =
      summary > details ? summary : indexFrom(lines, details + 1, (l) => /^=+ .*\bin [\d.]+s\b/.test(l));
    out.push(...lines.slice(details + 1, end < 0 ? undefined : end));
  }
  return nonEmpty(out);
};

/** mocha: everything after "N failing". */
const mocha: Reader = (lines) => {
  const start = indexFrom(lines, 0, (l) => /^\s*\d+ failing\s*$/.test(l));
  return start < 0 ? undefined : nonEmpty(lines.slice(start + 1));
};

/** cargo test: the "failures:" section up to the result line. */
const cargo: Reader = (lines) => {
  const start = indexFrom(lines, 0, (l) => l.trim() === 'failures:');
  if (start < 0) return undefined;
  const end = indexFrom(lines, start, (l) => /^test result: /.test(l));
  return nonEmpty(lines.slice(start + 1, end < 0 ? undefined : end));
};

/** go test: each "--- FAIL" line with the test's own output (before it with -v, indented after it without). */
const goTest: Reader = (lines) => {
  const out: string[] = [];
  lines.forEach((line, i) => {
    const match = /^\s*--- FAIL: (\S+)/.exec(line);
    if (!match) return;
    const name = match[1] ?? '';
    let run = -1;
    for (let k = i - 1; k >= 0; k--) {
      if ((lines[k] ?? '').trim() === `=== RUN   ${name}`) {
        run = k;
        break;
      }
    }
    if (run >= 0) {
      out.push(
        ...lines.slice(run + 1, i).filter((l) => !/^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP))/.test(l)),
      );
    }
    out.push(line);
    for (let j = i + 1; j < lines.length && /^\s{4,}\S/.test(lines[j] ?? ''); j++) {
      if (/^\s*--- /.test(lines[j] ?? '')) break;
      out.push(lines[j] ?? '');
    }
  });
  return nonEmpty(out);
};

const ERROR_WORD =
  /\b(errors?|fail(s|ed|ure|ures|ing)?|assert\w*|expected|exception|panic(ked)?|traceback|cannot|undefined)\b|✖|✗|×/i;

/** Any output: lines that look like errors, with a little context after each. */
const generic: Reader = (lines) => {
  const keep = new Set<number>();
  lines.forEach((line, i) => {
    if (!ERROR_WORD.test(line)) return;
    for (let k = i; k <= Math.min(lines.length - 1, i + GENERIC_CONTEXT); k++) keep.add(k);
  });
  if (keep.size === 0) return undefined;
  const out: string[] = [];
  let last = -2;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (out.length >= GENERIC_MAX_LINES) break;
    if (i !== last + 1 && out.length > 0) out.push('…');
    out.push(lines[i] ?? '');
    last = i;
  }
  return nonEmpty(out);
};

const READERS: readonly Reader[] = [vitest, jest, nodeSpec, nodeTap, pytest, mocha, cargo, goTest, generic];

const STACK_LINE = /^\s+(at\s|\d+:\s)/;

/** Keeps the first frames of each run of stack lines and counts the rest. */
function trimStacks(lines: readonly string[]): string[] {
  const out: string[] = [];
  let run = 0;
  let dropped = 0;
  const flush = (): void => {
    if (dropped > 0) out.push(`      … ${dropped} more stack line${dropped === 1 ? '' : 's'}`);
    run = 0;
    dropped = 0;
  };
  for (const line of lines) {
    if (STACK_LINE.test(line)) {
      run += 1;
      if (run <= STACK_KEEP) out.push(line);
      else dropped += 1;
      continue;
    }
    flush();
    out.push(line);
  }
  flush();
  return out;
}

/** Blank runs squeezed to one blank line, and none at either end. */
function squeeze(lines: readonly string[]): string {
  return lines
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The failing part of `output`, or undefined when nothing in it looks like a failure. */
export function failureExcerpt(output: string): string | undefined {
  const lines = stripVTControlCharacters(output).replace(/\r\n?/g, '\n').split('\n');
  for (const read of READERS) {
    const found = read(lines);
    if (found) {
      const text = squeeze(trimStacks(found));
      if (text !== '') return text;
    }
  }
  return undefined;
}
