import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLoopNames, loadAllLoops, loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { expectProblem, lines, problemsOf, tempRepo } from './helpers.js';

const FILE = 'loops/fix-tests/LOOP.md';

async function load(text: string, extra: Record<string, string> = {}) {
  const root = await tempRepo({ [FILE]: text, ...extra });
  return { root, result: await loadLoop(root, 'fix-tests') };
}

describe('loadLoop: a valid loop', () => {
  it('gives a three-line loop every default', async () => {
    const { root, result } = await load(lines('---', 'name: fix-tests', '---', '  Fix the tests.  '));
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const def = result.definition;
    expect(def).toMatchObject({
      name: 'fix-tests',
      description: '',
      model: 'claude-sonnet-4-6',
      task: 'Fix the tests.',
      dir: path.join(root, 'loops', 'fix-tests'),
      file: path.join(root, 'loops', 'fix-tests', 'LOOP.md'),
      skills: [],
      workspace: { base: 'HEAD' },
      trigger: {},
      // Without verify, a separate checker agent grades the work: nothing counts unchecked.
      verify: [{ checker: true, holdout: false, protect: [], timeout: 600 }],
      budget: { iterations: 10, tool_calls: 200, usd: 2, tokens: 2_000_000, minutes: 60 },
      stall: { window: 3, on_stall: 'pause', pause_timeout_minutes: 60 },
      approve: [],
      concurrency: 1,
      memory: { max_bytes: 16_384 },
    });
    expect(def.agent).toEqual({
      provider: 'anthropic',
      route: {},
      tools: ['read_file', 'write_file', 'edit_file', 'list_files', 'search', 'run'],
      mcp: [],
      max_tokens: 8192,
      script: 'SCRIPT.yaml',
    });
    expect(def.rubric).toBeUndefined();
    expect(path.isAbsolute(def.dir)).toBe(true);
  });

  it('refuses an empty verify list: a run nobody checks is never reported done', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'verify: []', '---', 'x'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^loops\/fix-tests\/LOOP\.md:3: verify: .*at least one grader/),
    ]);
  });

  it('takes the model from the provider when none is given, and keeps one that is', async () => {
    const openai = await load(lines('---', 'name: fix-tests', 'agent: { provider: openai }', '---', 'x'));
    expect(openai.result.ok && openai.result.definition.model).toBe('gpt-5-mini');
    const given = await load(
      lines('---', 'name: fix-tests', 'agent: { model: claude-opus-4-1 }', '---', 'x'),
    );
    expect(given.result.ok && given.result.definition.model).toBe('claude-opus-4-1');
  });

  it('reads a full PRODUCT.md-style loop with every grader kind', async () => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        'description: Keep the unit tests green',
        'agent:',
        '  provider: anthropic',
        '  model: claude-sonnet-4-5',
        '  route: { triage: claude-haiku-4-5, review: claude-opus-4-1 }',
        '  tools: [read_file, write_file, edit_file, list_files, search, run]',
        '  mcp: [{ name: docs, command: npx, args: [some-mcp-server] }]',
        'workspace: { base: main }',
        'trigger:',
        '  cron: "0 7 * * 1-5"',
        '  watch: ["src/**/*.ts"]',
        '  webhook: true',
        '  goal: true',
        'verify:',
        '  - command: npm test',
        '    protect: [test/fixtures]',
        '  - rubric: RUBRIC.md',
        '    model: claude-haiku-4-5',
        '    threshold: 0.8',
        '  - metric: { command: node bench.js, pattern: "score=([0-9.]+)", goal: maximize }',
        '  - checker: true',
        'budget: { iterations: 20, tool_calls: 200, usd: 2.00, tokens: 2000000, minutes: 60 }',
        'stall: { window: 3, on_stall: pause }',
        'approve: ["run:git push*", "run:rm -rf*", "write:package.json"]',
        '---',
        'The task, in plain words.',
      ),
      { 'loops/fix-tests/RUBRIC.md': lines('- Tests pass.', '- The change is small.') },
    );
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.definition.verify).toHaveLength(4);
    expect(result.definition.verify[2]).toMatchObject({
      metric: { goal: 'maximize' },
      timeout: 600,
      holdout: false,
    });
    expect(result.definition.rubric).toEqual({
      path: 'loops/fix-tests/RUBRIC.md',
      criteria: [
        { name: 'Tests pass.', text: 'Tests pass.' },
        { name: 'The change is small.', text: 'The change is small.' },
      ],
    });
    expect(result.definition.agent.mcp[0]).toEqual({
      name: 'docs',
      command: 'npx',
      args: ['some-mcp-server'],
      env: [],
      approve: 'hinted',
    });
  });

  it('accepts CRLF line endings', async () => {
    const { result } = await load('---\r\nname: fix-tests\r\n---\r\nDo it.\r\n');
    expect(result.ok && result.definition.task).toBe('Do it.');
  });
});

describe('loadLoop: problems in the file as a whole', () => {
  it('reports a file without front matter at line 1', async () => {
    const { result } = await load(lines('name: fix-tests', 'Fix things.'));
    expectProblem(problemsOf(result), {
      field: '(front matter)',
      line: 1,
      message: 'no front matter',
      file: FILE,
    });
  });

  it('reports unterminated front matter at line 1', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'Fix things.'));
    expectProblem(problemsOf(result), { field: '(front matter)', line: 1, message: 'not closed' });
  });

  it('reports a YAML syntax error at its line', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'description: a: b', 'stall: {}', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: '(front matter)',
      line: 3,
      message: 'YAML syntax: Nested mappings',
    });
  });

  it('reports a duplicated key as a YAML problem at the second one', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'description: a', 'description: b', '---', 'x'),
    );
    expectProblem(problemsOf(result), { field: '(front matter)', line: 4, message: 'unique' });
  });

  it('reports front matter that is not a mapping', async () => {
    const { result } = await load(lines('---', '- name', '---', 'x'));
    expectProblem(problemsOf(result), { field: '(front matter)', line: 2, message: 'got a list' });
  });

  it('reports an empty task at the line after the closing fence', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'description: d', '---', '', '   '));
    expectProblem(problemsOf(result), { field: '(task)', line: 5, message: 'the task is empty' });
  });

  it('reports a loop that does not exist', async () => {
    const root = await tempRepo();
    const problems = problemsOf(await loadLoop(root, 'nothing-here'));
    expectProblem(problems, {
      field: '(file)',
      line: 1,
      message: 'loops new nothing-here',
      file: 'loops/nothing-here/LOOP.md',
    });
  });

  it('refuses a name that is not a loop name before touching the disk', async () => {
    const root = await tempRepo({ 'secret/LOOP.md': lines('---', 'name: secret', '---', 'x') });
    const problems = problemsOf(await loadLoop(root, '../secret'));
    expectProblem(problems, { field: '(file)', line: 1, message: 'not a loop name' });
  });
});

describe('loadLoop: field problems at their lines', () => {
  it('reports a missing name at line 2', async () => {
    const { result } = await load(lines('---', 'description: no name', '---', 'x'));
    expectProblem(problemsOf(result), { field: 'name', line: 2, message: 'required' });
  });

  it('reports a name that differs from the folder on the name line', async () => {
    const { result } = await load(lines('---', 'description: d', 'name: fix-test', '---', 'x'));
    expectProblem(problemsOf(result), {
      field: 'name',
      line: 3,
      message: 'must equal the folder name "fix-tests"',
    });
  });

  it('reports a name that breaks the naming rule once', async () => {
    const { result } = await load(lines('---', 'name: Fix_Tests', '---', 'x'));
    expectProblem(problemsOf(result), { field: 'name', line: 2, message: 'lowercase letters' });
  });

  it('says what a number field expected and what it got', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'budget:', '  iterations: 5', '  usd: lots', '---', 'x'),
    );
    const problem = expectProblem(problemsOf(result), { field: 'budget.usd', line: 5 });
    expect(problem.message).toBe('expected a positive number, got "lots"');
    expect(formatProblem(problem)).toBe(`${FILE}:5: budget.usd: expected a positive number, got "lots"`);
  });

  it('says a whole number is wanted for a fraction, and that zero is not positive', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'stall: { window: 1.5 }', 'concurrency: 0', '---', 'x'),
    );
    const problems = problemsOf(result);
    expectProblem(problems, {
      field: 'stall.window',
      line: 3,
      message: 'expected a positive whole number, got 1.5',
    });
    expectProblem(problems, {
      field: 'concurrency',
      line: 4,
      message: 'expected a positive whole number, got 0',
    });
  });

  it("names a stall pause's timeout at its line when it is not a positive number", async () => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        'stall:',
        '  on_stall: pause',
        '  pause_timeout_minutes: 0',
        '---',
        'x',
      ),
    );
    const problem = expectProblem(problemsOf(result), { field: 'stall.pause_timeout_minutes', line: 5 });
    expect(formatProblem(problem)).toBe(
      `${FILE}:5: stall.pause_timeout_minutes: expected a number from 0 to 35791, got 0`,
    );
  });

  it('lists the choices of an enum', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'agent:', '  model: m', '  provider: gpt', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'agent.provider',
      line: 5,
      message: 'expected one of: anthropic, openai, claude-code, codex, command, scripted; got "gpt"',
    });
  });

  it('names an unknown top-level key and lists the allowed ones', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'budgett: {}', '---', 'x'));
    const problem = expectProblem(problemsOf(result), {
      field: 'budgett',
      line: 3,
      message: 'unknown key "budgett"',
    });
    expect(problem.message).toContain('did you mean "budget"?');
    expect(problem.message).toContain(
      'allowed keys: name, description, agent, workspace, trigger, verify, budget',
    );
  });

  it('reports an unknown nested key at the line of the key itself', async () => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        'agent:',
        '  provider: openai',
        '  route:',
        '    triage: m',
        '    planner: m',
        '---',
        'x',
      ),
    );
    expectProblem(problemsOf(result), {
      field: 'agent.route.planner',
      line: 7,
      message: 'unknown key "planner" (allowed keys: triage, summary, review)',
    });
  });

  it('reports a missing required nested key at its parent', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - metric:', "      pattern: 'x=(\\d+)'", '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[0].metric.command',
      line: 4,
      message: 'required, but missing',
    });
  });

  it('reports every problem, not only the first', async () => {
    const { result } = await load(
      lines(
        '---', // 1
        'name: fix-tests', // 2
        'colour: blue', // 3
        'budget: { usd: -1 }', // 4
        'stall:', // 5
        '  on_stall: explode', // 6
        'agent: { tools: [read_file, fly] }', // 7
        '---', // 8
      ),
    );
    const problems = problemsOf(result);
    expect(problems.map((problem) => [problem.line, problem.field])).toEqual([
      [3, 'colour'],
      [4, 'budget.usd'],
      [6, 'stall.on_stall'],
      [7, 'agent.tools[1]'],
      [9, '(task)'],
    ]);
  });

  it('asks for quotes when YAML read a number where text belongs', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'approve: [3]', '---', 'x'));
    expectProblem(problemsOf(result), { field: 'approve[0]', line: 3, message: 'put it in quotes' });
  });
});

describe('loadLoop: the verify list', () => {
  it('points a grader of a known kind at its wrong field', async () => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        'verify:',
        '  - command: npm test',
        '  - rubric: RUBRIC.md',
        '    threshold: 2',
        '---',
        'x',
      ),
      { 'loops/fix-tests/RUBRIC.md': '- ok\n' },
    );
    expectProblem(problemsOf(result), {
      field: 'verify[1].threshold',
      line: 6,
      message: 'expected a number from 0 to 1, got 2',
    });
  });

  it('reports a wrong type inside a command grader', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - command: [npm, test]', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[0].command',
      line: 4,
      message: 'expected text, got a list',
    });
  });

  it('says which keys a grader needs when it has none of them', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - name: tests', '    comand: npm test', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[0]',
      line: 4,
      message: 'a grader needs one of: command, rubric, metric, checker',
    });
  });

  it('reports a grader that is a bare string', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'verify:', '  - npm test', '---', 'x'));
    expectProblem(problemsOf(result), { field: 'verify[0]', line: 4, message: 'got "npm test"' });
  });

  it('reports a grader with two kinds', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - command: npm test', '    checker: true', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[0]',
      line: 4,
      message: 'this one has command and checker',
    });
  });

  it('reports an unknown key in a grader with the keys its kind allows', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - command: npm test', '    retries: 2', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[0].retries',
      line: 5,
      message: 'allowed keys: name, holdout, protect, timeout, command',
    });
  });

  it('reports an unknown key inside a checker mapping', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - checker: { modle: m }', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[0].checker.modle',
      line: 4,
      message: 'did you mean "model"?',
    });
  });

  it('reports a rubric file that does not exist at the grader', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'verify:', '  - command: npm test', '  - rubric: JUDGE.md', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'verify[1].rubric',
      line: 5,
      message: 'no rubric at loops/fix-tests/JUDGE.md',
    });
  });

  it('refuses protect and rubric paths that leave the repository', async () => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        'verify:',
        '  - command: npm test',
        '    protect:',
        '      - test/fixtures',
        '      - /etc/passwd',
        '      - src/../../outside',
        '  - rubric: ../../../RUBRIC.md',
        '---',
        'x',
      ),
    );
    const problems = problemsOf(result);
    expectProblem(problems, { field: 'verify[0].protect[1]', line: 7, message: 'not an absolute path' });
    expectProblem(problems, { field: 'verify[0].protect[2]', line: 8, message: 'outside the repository' });
    expectProblem(problems, { field: 'verify[1].rubric', line: 9, message: 'outside the repository' });
    expect(problems.some((problem) => problem.field === 'verify[0].protect[0]')).toBe(false);
  });
});

describe('loadLoop: the scripted provider', () => {
  it('needs its script: the problem is on the provider line when the default is used', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'agent:', '  provider: scripted', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'agent.provider',
      line: 4,
      message: 'loops/fix-tests/SCRIPT.yaml does not exist',
    });
  });

  it('needs its script: the problem is on the script line when one is named', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'agent:', '  provider: scripted', '  script: demo.yaml', '---', 'x'),
    );
    expectProblem(problemsOf(result), {
      field: 'agent.script',
      line: 5,
      message: 'loops/fix-tests/demo.yaml does not exist',
    });
  });

  it('loads when the script is there', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'agent: { provider: scripted }', '---', 'x'),
      {
        'loops/fix-tests/SCRIPT.yaml': 'turns:\n  - text: done\n',
      },
    );
    expect(result.ok && result.definition.model).toBe('scripted');
  });

  it('reads the script at validate time: a bad one is a problem at its own line, not a failed run', async () => {
    const { result } = await load(
      lines('---', 'name: fix-tests', 'agent: { provider: scripted }', '---', 'x'),
      {
        'loops/fix-tests/SCRIPT.yaml': 'turns:\n  - text: ok\n  - when: { matches: "(" }\n    text: x\n',
      },
    );
    expectProblem(problemsOf(result), {
      field: '(script)',
      file: 'loops/fix-tests/SCRIPT.yaml',
      line: 3,
      message: 'not a valid regular expression',
    });
  });
});

describe('loadLoop: judges need a provider with structured output', () => {
  it.each(['codex', 'command'])(
    'refuses a rubric judge and a checker on %s, at each grader',
    async (provider) => {
      const { result } = await load(
        lines(
          '---',
          'name: fix-tests',
          `agent: { provider: ${provider}, command: [my-agent] }`,
          'verify:',
          '  - command: npm test',
          '  - rubric: RUBRIC.md',
          '  - checker: true',
          '---',
          'x',
        ),
        { 'loops/fix-tests/RUBRIC.md': '- It works\n' },
      );
      const problems = problemsOf(result);
      expectProblem(problems, {
        field: 'verify[1]',
        line: 6,
        message: `a rubric judge gives its verdict as structured output (a forced tool call), which`,
      });
      expectProblem(problems, { field: 'verify[2]', line: 7, message: `(agent.provider is ${provider})` });
      expect(problems.some((problem) => problem.field === 'verify[0]')).toBe(false);
    },
  );

  it('refuses the default checker on codex, on the provider line', async () => {
    const { result } = await load(lines('---', 'name: fix-tests', 'agent:', '  provider: codex', '---', 'x'));
    expectProblem(problemsOf(result), {
      field: 'agent.provider',
      line: 4,
      message: 'without verify:, a checker agent grades the work',
    });
  });

  it.each(['anthropic', 'openai', 'claude-code'])('lets %s judge', async (provider) => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        `agent: { provider: ${provider} }`,
        'verify:',
        '  - checker: true',
        '---',
        'x',
      ),
    );
    expect(result.ok).toBe(true);
  });

  it('lets command graders grade on any provider', async () => {
    const { result } = await load(
      lines(
        '---',
        'name: fix-tests',
        'agent: { provider: codex }',
        'verify:',
        '  - command: npm test',
        '---',
        'x',
      ),
    );
    expect(result.ok).toBe(true);
  });
});

describe('listLoopNames and loadAllLoops', () => {
  it('lists the sorted folders under loops/ that hold a LOOP.md', async () => {
    const root = await tempRepo({
      'loops/zeta/LOOP.md': lines('---', 'name: zeta', '---', 'z'),
      'loops/alpha/LOOP.md': lines('---', 'name: alpha', '---', 'a'),
      'loops/notes/README.md': 'not a loop\n',
      'loops/stray.md': 'not a folder\n',
    });
    expect(await listLoopNames(root)).toEqual(['alpha', 'zeta']);
  });

  it('finds no loops when there is no loops folder', async () => {
    expect(await listLoopNames(await tempRepo())).toEqual([]);
  });

  it('loads every loop, the bad ones with their problems', async () => {
    const root = await tempRepo({
      'loops/good/LOOP.md': lines('---', 'name: good', '---', 'ok'),
      'loops/bad/LOOP.md': lines('---', 'name: bad', 'budget: { usd: free }', '---', 'x'),
    });
    const all = await loadAllLoops(root);
    expect(all.map((entry) => [entry.name, entry.result.ok])).toEqual([
      ['bad', false],
      ['good', true],
    ]);
    const [bad] = all;
    expectProblem(problemsOf(bad!.result), { field: 'budget.usd', line: 3, file: 'loops/bad/LOOP.md' });
  });
});
