import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRequest } from '../../src/models/provider.js';
import { loadScript, parseScript, SCRIPT_FINISHED, ScriptedProvider } from '../../src/models/scripted.js';
import { countTokens } from '../../src/models/tokens.js';
import { makeRequest, providerErrorOf, READ_FILE, syncProviderErrorOf } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loops-scripted-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function providerFor(yaml: string): Promise<ScriptedProvider> {
  const file = path.join(dir, 'SCRIPT.yaml');
  await writeFile(file, yaml);
  return new ScriptedProvider(await loadScript(file), { model: 'scripted-demo' });
}

/** A request whose last user message says `text` (the opening context or grader feedback). */
function saying(text: string, extra: Partial<ModelRequest> = {}): ModelRequest {
  return makeRequest({ messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra });
}

/** A request whose last user message carries a tool result. */
function withToolResult(content: string): ModelRequest {
  return makeRequest({
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Fix the tests.' }] },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'call_1', name: 'run', input: { command: 'npm test' } }],
      },
      { role: 'user', content: [{ type: 'tool_result', toolUseId: 'call_1', content, isError: false }] },
    ],
  });
}

describe('ScriptedProvider', () => {
  it('plays turns in file order, with deterministic tool call ids, then says the script is finished', async () => {
    const provider = await providerFor(`
turns:
  - text: "I'll look at the failing test."
    tool_calls:
      - { name: read_file, input: { path: test/math.test.js } }
      - { name: run, input: { command: npm test } }
  - tool_calls:
      - { name: edit_file, input: { path: src/math.js, old: "a - b", new: "a + b" } }
  - text: Done.
`);
    const first = await provider.complete(saying('Fix the tests.'));
    expect(first).toMatchObject({
      model: 'scripted-demo',
      text: "I'll look at the failing test.",
      stopReason: 'tool_use',
      toolCalls: [
        { id: 'call_1', name: 'read_file', input: { path: 'test/math.test.js' } },
        { id: 'call_2', name: 'run', input: { command: 'npm test' } },
      ],
    });
    const second = await provider.complete(withToolResult('1 failing'));
    expect(second.text).toBe('');
    expect(second.toolCalls).toEqual([
      { id: 'call_3', name: 'edit_file', input: { path: 'src/math.js', old: 'a - b', new: 'a + b' } },
    ]);
    const third = await provider.complete(withToolResult('ok'));
    expect(third).toMatchObject({ text: 'Done.', stopReason: 'end_turn', toolCalls: [] });
    const after = await provider.complete(saying('anything'));
    expect(after).toMatchObject({ text: SCRIPT_FINISHED, stopReason: 'end_turn', toolCalls: [] });
  });

  it('branches on contains and matches against the last user message, skipping turns that do not hold', async () => {
    const provider = await providerFor(`
turns:
  - when: { contains: FAIL }
    text: The grader says it still fails; fixing.
  - when: { matches: "expected (\\\\d+)" }
    text: Looking at the expected value.
  - text: Starting.
`);
    // Neither condition holds: the first turn without a \`when\` plays.
    expect((await provider.complete(saying('Fix the tests.'))).text).toBe('Starting.');
    // Tool results count as the last user message too.
    expect((await provider.complete(withToolResult('AssertionError: expected 3, got -1'))).text).toBe(
      'Looking at the expected value.',
    );
    expect((await provider.complete(saying('Grader feedback: npm test FAIL (1 failing)'))).text).toBe(
      'The grader says it still fails; fixing.',
    );
    expect((await provider.complete(saying('FAIL again'))).text).toBe(SCRIPT_FINISHED);
  });

  it('matches on the step, and requires every condition given', async () => {
    const provider = await providerFor(`
turns:
  - when: { step: review, contains: rubric }
    repeat: true
    text: '{"score": 0.9}'
  - text: Working.
`);
    expect((await provider.complete(saying('grade against the rubric', { step: 'work' }))).text).toBe(
      'Working.',
    );
    expect((await provider.complete(saying('no mention', { step: 'review' }))).text).toBe(SCRIPT_FINISHED);
    expect((await provider.complete(saying('grade against the rubric', { step: 'review' }))).text).toBe(
      '{"score": 0.9}',
    );
  });

  it('plays a verdict as the submit_verdict call a forced request asks for', async () => {
    const provider = await providerFor(`
turns:
  - when: { step: review }
    text: '{"result": "satisfied", "score": 1}'
    tool_calls:
      - name: submit_verdict
        input: { result: failed, score: 0, explanation: Nothing done., criteria: [] }
`);
    const forced = { step: 'review' as const, toolChoice: { type: 'tool' as const, name: 'submit_verdict' } };
    const response = await provider.complete(saying('grade it', forced));
    expect(response.toolCalls).toEqual([
      {
        id: 'call_1',
        name: 'submit_verdict',
        input: { result: 'failed', score: 0, explanation: 'Nothing done.', criteria: [] },
      },
    ]);
    expect(response.stopReason).toBe('tool_use');
  });

  it('refuses a forced request whose turn makes no such call, or that no turn answers, naming the fix', async () => {
    const provider = await providerFor(`
turns:
  - when: { step: review, contains: first }
    text: '{"result": "satisfied", "score": 1, "explanation": "x", "criteria": []}'
`);
    const forced = { step: 'review' as const, toolChoice: { type: 'tool' as const, name: 'submit_verdict' } };
    const inText = await providerErrorOf(provider.complete(saying('first', forced)));
    expect(inText.kind).toBe('config');
    expect(inText.message).toBe(
      "the script's turns[0] answers a review request that must call submit_verdict, but makes no such " +
        'call: give it `tool_calls: [{ name: submit_verdict, input: {...} }]`',
    );
    // The refused turn is not used up: the fixed script would still play it.
    const again = await providerErrorOf(provider.complete(saying('first', forced)));
    expect(again.message).toContain('turns[0]');
    const none = await providerErrorOf(provider.complete(saying('second', forced)));
    expect(none.message).toBe(
      'no turn of the script answers this review request, which must call submit_verdict: add a turn ' +
        'with `when: { step: review }` and `tool_calls: [{ name: submit_verdict, input: {...} }]`',
    );
    // Unforced, the same turn plays as text.
    expect((await provider.complete(saying('first', { step: 'review' }))).text).toContain('satisfied');
  });

  it('never uses up a repeating turn', async () => {
    const provider = await providerFor(`
turns:
  - when: { contains: FAIL }
    repeat: true
    text: Still failing, trying again.
  - text: First look.
`);
    const texts = [];
    for (const feedback of ['FAIL 1', 'start', 'FAIL 2', 'FAIL 3', 'start']) {
      texts.push((await provider.complete(saying(feedback))).text);
    }
    expect(texts).toEqual([
      'Still failing, trying again.',
      'First look.',
      'Still failing, trying again.',
      'Still failing, trying again.',
      SCRIPT_FINISHED,
    ]);
  });

  it('sends its text to onText', async () => {
    const provider = await providerFor('turns:\n  - text: Hello from the script.\n');
    const deltas: string[] = [];
    await provider.complete(saying('go', { onText: (d) => deltas.push(d) }));
    expect(deltas.join('')).toBe('Hello from the script.');
  });

  it('counts tokens of the real request and reply, the same every time', async () => {
    const yaml = `
turns:
  - text: Reading it.
    tool_calls: [{ name: read_file, input: { path: a.js } }]
`;
    const request = saying('Fix the failing test in test/math.test.js', { tools: [READ_FILE] });
    const one = await (await providerFor(yaml)).complete(request);
    const two = await (await providerFor(yaml)).complete(request);

    expect(one.usage).toEqual(two.usage);
    expect(one.usage.cacheRead).toBe(0);
    expect(one.usage.cacheWrite).toBe(0);
    // The request counts system, messages and the tool specs; a bigger request counts more.
    const withoutTools = await (
      await providerFor(yaml)
    ).complete(saying('Fix the failing test in test/math.test.js'));
    expect(one.usage.input).toBeGreaterThan(withoutTools.usage.input);
    expect(withoutTools.usage.input).toBe(
      countTokens('You fix failing tests.') + countTokens('Fix the failing test in test/math.test.js'),
    );
    expect(one.usage.output).toBe(countTokens('Reading it.') + countTokens(JSON.stringify(one.toolCalls)));
  });

  it('refuses to answer once the signal is aborted', async () => {
    const provider = await providerFor('turns:\n  - text: never said\n');
    const error = await providerErrorOf(provider.complete(saying('go', { signal: AbortSignal.abort() })));
    expect(error.kind).toBe('aborted');
    expect(error.provider).toBe('scripted');
    // The aborted call did not use the turn up.
    expect((await provider.complete(saying('go'))).text).toBe('never said');
  });
});

describe('loadScript', () => {
  it('names the file, the line and the field of a bad turn', async () => {
    const file = path.join(dir, 'SCRIPT.yaml');
    await writeFile(file, 'turns:\n  - text: fine\n  - tool_calls:\n      - { input: { path: a } }\n');
    const error = await providerErrorOf(loadScript(file));
    expect(error.kind).toBe('config');
    expect(error.message).toContain(`${file}:4: turns[1].tool_calls[0].name:`);
  });

  it('rejects unknown keys, bad regular expressions and empty turns', () => {
    const unknown = syncProviderErrorOf(() =>
      parseScript('turns:\n  - text: a\n    iteration: 2\n', 'S.yaml'),
    );
    expect(unknown.message).toContain('S.yaml:2: turns[0]:');
    expect(unknown.message).toContain('iteration');

    const regex = syncProviderErrorOf(() =>
      parseScript('turns:\n  - when: { matches: "(" }\n    text: a\n', 'S.yaml'),
    );
    expect(regex.message).toContain('turns[0].when.matches: not a valid regular expression');

    const empty = syncProviderErrorOf(() => parseScript('turns:\n  - when: { contains: x }\n', 'S.yaml'));
    expect(empty.message).toContain('turns[0]: a turn needs text, tool_calls or both');
  });

  it('reports YAML syntax errors with the line', () => {
    const error = syncProviderErrorOf(() => parseScript('turns:\n  - text: "unclosed\n', 'S.yaml'));
    expect(error.kind).toBe('config');
    expect(error.message).toMatch(/^S\.yaml:\d+: not valid YAML/);
  });

  it('says what to do when the file is missing', async () => {
    const file = path.join(dir, 'NOPE.yaml');
    const error = await providerErrorOf(loadScript(file));
    expect(error.kind).toBe('config');
    expect(error.message).toContain(file);
    expect(error.message).toContain('agent.script');
  });
});
