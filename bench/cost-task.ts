/**
 * The cost benchmark's task: a fix-the-tests loop that runs 20 iterations of three model calls each
 * (read a file, run the tests, end the turn). Every reply, file and test output is fixed, so the two
 * strategies send the same work and differ only in what they re-send and how they mark it for caching.
 */
import { TOOL_NAMES } from '../src/core/definition/schema.js';
import type { ToolSpec } from '../src/models/provider.js';
import { createToolbox } from '../src/tools/toolbox.js';

export const MODEL = 'claude-sonnet-4-6';
export const ITERATIONS = 20;
export const CALLS_PER_ITERATION = 3;

export const TOOLS: ToolSpec[] = createToolbox(TOOL_NAMES).map((tool) => tool.spec);

const RULES = `You are an autonomous agent run by loops, working inside a git worktree made for this run.
- Use the tools to read and change files and to run commands; every path is relative to the worktree root.
- The worktree is yours alone; nothing outside it can be read or written.
- When you have done what you can this iteration, reply without calling a tool: that ends your turn.
- After your turn, graders check the work. Their feedback, if it fails, starts your next iteration.
- Do not edit the graders' files or tests to make them pass; fix the work itself.`;

const TASK = `# Task: fix-tests

The tests in test/ fail. Make them pass by fixing the code in src/, never the tests. Read the memory's
progress first. Fix one failing test per iteration, then end your turn so the graders can check your work.`;

const TESTING_SKILL = `## Skill: fixing-failing-tests
How to get a red test suite green one test at a time without breaking what already passes.

1. Run the whole suite once and read the first failure completely: the assertion, the expected and the
   actual values, and the top frames of the stack. The first failure is often the cause of the others.
2. Open the test that fails and read what it checks before you open the code under test. A test states
   the behaviour the project wants; the code is what has to change.
3. Find the smallest change that makes this test pass. Prefer fixing the computation over adding a
   special case for the value the test uses; a special case passes one test and fails the next.
4. Money is kept in integer cents. Never use floating point for amounts until the final formatting step,
   and format with two decimals. Rounding happens once, at the end, half away from zero.
5. Quantities multiply line prices; discounts apply to the subtotal, not to each line; tax applies after
   discounts. Shipping is free from the free-shipping threshold up, inclusive.
6. After the change, run the single test file, then the whole suite. A fix that turns another test red
   is not a fix: undo it and look again.
7. Leave the code tidier than you found it only where you touched it; do not reformat whole files,
   because a reviewer has to read every line of the diff.
8. When a test's expectation looks wrong, do not edit it. Say so in your summary, with the reason, and
   move on to the next failing test; a person decides about the test.
9. End the turn with one short paragraph: what failed, what you changed, and what still fails. The next
   iteration starts from that paragraph and the graders' feedback, not from this conversation.`;

const CONVENTIONS_SKILL = `## Skill: repository-conventions
The conventions of this repository, which reviewers check before they merge a loop's branch.

- Modules are ECMAScript modules with named exports; a file does one thing and is named for it.
- Functions take plain objects and return new ones; nothing mutates its arguments.
- Errors are thrown as Error subclasses whose message says what was wrong and what to do about it.
- Public functions have a one-line comment that says why they exist, not what each line does.
- Tests use node:test and node:assert/strict; each test builds its own data and asserts one behaviour.
- Names are plain words: cartTotal, lineTotal, formatCents; no abbreviations, no Hungarian prefixes.
- Constants that carry business meaning (thresholds, rates) live in src/rules.js with a comment that
  says where the number comes from.
- Dates are ISO strings in UTC at the edges and Date objects inside; no local time anywhere.
- A change that touches more than one module explains in the summary why both had to change.
- No new dependencies: the project runs on Node's standard library alone.
- Logging goes through src/log.js, which writes one JSON object a line; never console.log in src/.
- Performance matters only where a test measures it; prefer the clearest code everywhere else.`;

export const SYSTEM = [RULES, TASK, `# Skills\n\n${TESTING_SKILL}\n\n${CONVENTIONS_SKILL}`].join('\n\n');

export interface Reply {
  text: string;
  toolCalls: Array<{ name: string; input: Record<string, unknown> }>;
}

const MODULES = ['cart', 'discounts', 'tax', 'shipping', 'format'];

function moduleOf(iteration: number): string {
  return MODULES[iteration % MODULES.length]!;
}

/** The model's reply to the `step`-th call (0, 1, 2) of an iteration. */
export function reply(iteration: number, step: number): Reply {
  const name = moduleOf(iteration);
  if (step === 0) {
    return {
      text: `The feedback points at src/${name}.js. Reading it first.`,
      toolCalls: [{ name: 'read_file', input: { path: `src/${name}.js` } }],
    };
  }
  if (step === 1) {
    return {
      text: `The ${name} computation rounds each line instead of the total. Fixing that and running the tests.`,
      toolCalls: [{ name: 'run', input: { command: `node --test test/${name}.test.js` } }],
    };
  }
  return {
    text:
      `Fixed rounding in src/${name}.js (iteration ${iteration}): totals are now summed in cents and ` +
      `rounded once. ${ITERATIONS - iteration} tests still fail, in other modules.`,
    toolCalls: [],
  };
}

/** What the tool called in `step` returns: a source file, then a test run. */
export function toolOutput(iteration: number, step: number): string {
  const name = moduleOf(iteration);
  if (step === 0) {
    const lines = [`// src/${name}.js: ${name} rules for the demo shop (revision ${iteration})`];
    for (let k = 0; k < 36; k++) {
      lines.push(
        `export function ${name}Rule${k}(item, rules) {`,
        `  const base = item.priceCents * item.quantity; // rule ${k} of ${name}, revision ${iteration}`,
        `  return Math.round(base * (1 - (rules.rate${k} ?? 0)) + ${k * 7 + iteration});`,
        `}`,
      );
    }
    return lines.join('\n');
  }
  const lines = [`> node --test test/${name}.test.js`];
  for (let k = 0; k < 18; k++) lines.push(`✔ ${name} rule ${k} keeps cents exact (${(k % 5) + 1}.${k}ms)`);
  lines.push(
    `✖ ${name} total of ${iteration + 2} lines rounds once (2.${iteration}ms)`,
    `  AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:`,
    `  ${1200 + iteration * 13} !== ${1199 + iteration * 13}`,
    `      at TestContext.<anonymous> (file:///work/test/${name}.test.js:${40 + iteration}:12)`,
    `ℹ tests 19  ℹ pass 18  ℹ fail 1`,
  );
  return lines.join('\n');
}

/** The graders' feedback after an iteration. */
export function feedback(iteration: number): string {
  const next = moduleOf(iteration + 1);
  return [
    `command grader "node --test" failed: ${ITERATIONS - iteration} of 120 tests fail.`,
    `First failure: test/${next}.test.js › ${next} total of ${iteration + 3} lines rounds once`,
    `  AssertionError: Expected values to be strictly equal: ${1300 + iteration} !== ${1299 + iteration}`,
    `      at file:///work/test/${next}.test.js:${50 + iteration}:12`,
  ].join('\n');
}

/** The memory's progress line for an iteration, as loops folds it. */
export function progressLine(iteration: number): string {
  return `Iteration ${iteration}: fixed rounding in src/${moduleOf(iteration)}.js → failed: node --test`;
}
