/** The files `loops new` writes: a small, commented loop that validates as it stands. */
import { DEFAULT_MODELS, PROVIDERS } from './schema.js';
import type { ProviderName } from './schema.js';

export function loopTemplate(name: string, provider: ProviderName): string {
  const settings = withComments([
    ['# Settings for this loop; every one has a default. The task for the agent is below the closing ---.'],
    [`name: ${name}`, 'must equal the folder name'],
    ['description: Keep the unit tests green'],
    ['agent:'],
    [`  provider: ${provider}`, PROVIDERS.join(' | ')],
    [`  model: ${DEFAULT_MODELS[provider]}`],
    ['  # tools: [read_file, write_file, edit_file, list_files, search, run]'],
    ['verify:', 'all must pass; the run is verified when they do'],
    ['  - command: npm test', 'exit status 0 passes; test counts are read as progress'],
    ['  # - rubric: RUBRIC.md', 'a model judges the work against RUBRIC.md'],
    ['budget: { iterations: 10, usd: 2.00, minutes: 30 }', 'the run stops at the first cap it reaches'],
    ['stall: { window: 3, on_stall: pause }', 'no verified progress in 3 iterations (nudge | pause | stop)'],
    ['# trigger: { cron: "0 7 * * 1-5" }', 'without a trigger, a person starts the run'],
  ]);
  return `---
${settings}
---
Your memory from earlier iterations and runs (what was learned, what a person told you) is given
to you at the start of each iteration; loops keeps it, so do not write a MEMORY.md yourself.

Run \`npm test\` and pick one failing test. Find the cause and fix it in the code, not in the test,
unless the test itself is wrong. Fix one thing per iteration, keep the change small, and run the
tests again before you end your turn.

When you end your turn, say in a sentence or two what you fixed, what you tried that did not work,
and what to look at next: loops carries that into your memory for the next iteration.
`;
}

/** YAML lines with their comments lined up in one column. */
function withComments(rows: ReadonlyArray<readonly [string, string?]>): string {
  const column = Math.max(...rows.filter((row) => row[1] !== undefined).map((row) => row[0].length)) + 2;
  return rows
    .map(([code, comment]) => (comment === undefined ? code : `${code.padEnd(column)}# ${comment}`))
    .join('\n');
}

export function skillTemplate(name: string): string {
  return `---
name: ${name}
description: How to work in this repository for the ${name} loop. Use it on every iteration of ${name}.
---
# Working on ${name}

- Run the tests with \`npm test\`; read the first failure before changing anything.
- Keep each change small and focused on one failure.
- Follow the code style already in the file you edit.

Edit this file to teach the agent what it keeps getting wrong.
`;
}

export function rubricTemplate(name: string): string {
  return `# Rubric for ${name}
<!-- One criterion per line, or "## criterion" sections. A model judges each iteration's work against them. -->
- The change fixes the failure it set out to fix, and the tests pass.
- The change is small and focused: one fix, no unrelated edits.
- Tests were not weakened or deleted to make them pass.
`;
}

export const SCRIPT_TEMPLATE =
  'turns:\n  - text: "Nothing to do yet: edit SCRIPT.yaml to script this loop."\n';
