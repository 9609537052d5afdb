/**
 * Context compression: between iterations the transcript becomes a handoff in MEMORY.md (one
 * summary-step call), inside an iteration old tool results are trimmed past a share of the context
 * budget, and the next iteration's input stays bounded however many iterations run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventOf, LoopEvent } from '../../src/core/events.js';
import type { Message, ToolResultPart } from '../../src/models/provider.js';
import {
  ContextTrimmer,
  HANDOFF_PROMPT,
  trimmedMarker,
  withHandoffRequest,
} from '../../src/core/run/compress.js';
import { memoryForPrompt } from '../../src/core/run/context.js';
import { parseMemory, renderMemory, type MemoryDoc } from '../../src/state/memory.js';
import type { CallRecord } from '../../src/state/ledger.js';
import { readAllSpend } from '../state/read-spend.js';
import { Supervisor } from '../../src/core/supervisor.js';
import { startFakeAnthropic, type FakeServer, type JsonObject } from '../support/fake-anthropic.js';
import { runDirect } from '../budget/direct-run.js';
import { makeRepo, type TestRepo } from './helpers.js';

function toolRound(id: string, name: string, output: string): Message[] {
  return [
    { role: 'assistant', content: [{ type: 'tool_use', id, name, input: { path: `${id}.txt` } }] },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: id, content: output, isError: false }] },
  ];
}

function results(messages: Message[]): ToolResultPart[] {
  return messages.flatMap((m) =>
    m.role === 'user' ? m.content.filter((p): p is ToolResultPart => p.type === 'tool_result') : [],
  );
}

describe('ContextTrimmer', () => {
  const words = (n: number): string => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

  it('leaves a conversation under the trigger alone', () => {
    const messages: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'start' }] },
      ...toolRound('a', 'read_file', words(100)),
    ];
    const trimmer = new ContextTrimmer({ budgetTokens: 10_000 }, 'system', []);
    expect(trimmer.trim(messages)).toBeUndefined();
    expect(results(messages)[0]?.content).toBe(words(100));
  });

  it('trims the oldest tool results to a marker once past 60% of the budget, down to 40%, keeping the latest two', () => {
    const big = words(500);
    const messages: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'start' }] },
      ...toolRound('a', 'read_file', big),
      ...toolRound('b', 'search', big),
      ...toolRound('c', 'run', big),
      ...toolRound('d', 'read_file', big),
      ...toolRound('e', 'read_file', big),
    ];
    const trimmer = new ContextTrimmer({ budgetTokens: 6_000 }, 'system', []);
    const before = trimmer.size(messages);
    expect(before).toBeGreaterThan(3_600);

    const report = trimmer.trim(messages);
    expect(report?.tokensBefore).toBe(before);
    expect(report?.tokensAfter).toBe(trimmer.size(messages));
    expect(trimmer.size(messages)).toBeLessThanOrEqual(2_400 + trimmer.size([]) + 1_500);
    const contents = results(messages).map((r) => r.content);
    expect(contents[0]).toBe(trimmedMarker(big.length, 'read_file'));
    expect(contents[1]).toBe(trimmedMarker(big.length, 'search'));
    expect(contents.slice(-2)).toEqual([big, big]);
    expect(report?.trimmed).toBe(contents.filter((c) => c.startsWith('[trimmed:')).length);
  });

  it('never trims a marker again', () => {
    const big = words(800);
    const messages: Message[] = [
      ...toolRound('a', 'read_file', big),
      ...toolRound('b', 'read_file', big),
      ...toolRound('c', 'read_file', big),
    ];
    const trimmer = new ContextTrimmer({ budgetTokens: 2_000, keepLatest: 1 }, 'system', []);
    trimmer.trim(messages);
    const once = results(messages).map((r) => r.content);
    trimmer.trim(messages);
    expect(results(messages).map((r) => r.content)).toEqual(once);
  });
});

describe('withHandoffRequest', () => {
  it('ends with the handoff prompt, drops empty messages, merges neighbours, and leaves the transcript as it was', () => {
    const transcript: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'task' }] },
      ...toolRound('a', 'read_file', 'x'),
      { role: 'assistant', content: [] },
    ];
    const copy = structuredClone(transcript);
    const messages = withHandoffRequest(transcript);
    expect(transcript).toEqual(copy);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages.at(-1)?.content.at(-1)).toEqual({ type: 'text', text: HANDOFF_PROMPT });
    expect(messages.at(-1)?.content[0]?.type).toBe('tool_result');
  });
});

describe('the handoff in MEMORY.md', () => {
  const doc: MemoryDoc = {
    goal: 'Green tests',
    progress: ['Iteration 1: tried'],
    handoff: '### Next steps\n- fix the parser\n## Notes inside a handoff stay in it',
    lastFeedback: 'FAIL parser',
    corrections: [],
    notes: 'A person wrote this.',
  };

  it('has a section of its own that reads back, leaving a person’s notes alone', () => {
    const text = renderMemory(doc, 10_000);
    expect(text).toContain('## Handoff\n\n### Next steps');
    expect(parseMemory(text)).toEqual(doc);
  });

  it('is left out of a document without one', () => {
    expect(renderMemory({ ...doc, handoff: '' }, 10_000)).not.toContain('## Handoff');
    expect(parseMemory(renderMemory({ ...doc, handoff: '' }, 10_000)).handoff).toBeUndefined();
  });

  it('is cut after the progress and the feedback, before the notes, to fit the cap', () => {
    const long = { ...doc, handoff: `### Progress\n${'detail '.repeat(400)}` };
    const text = renderMemory(long, 1_200);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1_200);
    const back = parseMemory(text);
    expect(back.handoff).toContain('(cut to fit the memory size cap)');
    expect(back.notes).toBe('A person wrote this.');
  });

  it('reaches the prompt, bounded by the cap', () => {
    const many = {
      ...doc,
      progress: Array.from({ length: 300 }, (_, i) => `Iteration ${i + 1}: tried again`),
    };
    const prompt = memoryForPrompt(many, 2_048);
    expect(prompt).toContain('Handoff from your last iteration:\n### Next steps');
    expect(prompt.length).toBeLessThan(2_048);
    expect(memoryForPrompt(many).length).toBeGreaterThan(6_000);
  });
});

let repo: TestRepo;
let supervisor: Supervisor | undefined;
let fake: FakeServer | undefined;

async function commitFile(name: string, text: string): Promise<void> {
  await writeFile(join(repo.dir, name), text);
  await repo.git('add', name);
  await repo.git('commit', '-q', '-m', `add ${name}`);
}

async function runLoop(name: string): Promise<{ events: LoopEvent[]; run: string }> {
  supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
  const events: LoopEvent[] = [];
  supervisor.subscribe((e) => events.push(e));
  const result = await supervisor.start(name);
  return { events, run: result.run };
}

const FAILING = 'verify:\n  - command: node -e "process.exit(1)"\n';

describe('folding an iteration into a handoff', () => {
  beforeEach(async () => {
    repo = await makeRepo();
  });
  afterEach(async () => {
    await supervisor?.shutdown();
    supervisor = undefined;
    await fake?.close();
    fake = undefined;
    await repo.cleanup();
  });

  it('asks the summary model between iterations and starts the next one from the handoff', async () => {
    await repo.addLoop(
      'folding',
      `---\nname: folding\nagent: { provider: scripted, route: { summary: cheap-summariser }, tools: [list_files] }\n${FAILING}budget: { iterations: 3 }\n---\nWork.\n`,
      [
        'turns:',
        '  - when: { step: summary }',
        '    repeat: true',
        '    text: "### Goal\\nMake it pass\\n### Next steps\\n- look at HANDOFF-MARK"',
        '  - when: { step: work }',
        '    repeat: true',
        '    text: Tried one thing.',
        '',
      ].join('\n'),
    );
    const { events, run } = await runLoop('folding');

    const requests = events.filter((e): e is EventOf<'model.request'> => e.type === 'model.request');
    const summaries = requests.filter((e) => e.step === 'summary');
    // Between iterations only: 3 iterations, 2 folds, none after the last.
    expect(summaries.map((e) => e.iteration)).toEqual([2, 3]);
    expect(summaries.every((e) => e.model === 'cheap-summariser')).toBe(true);
    expect(requests.filter((e) => e.step === 'work').every((e) => e.model === 'scripted')).toBe(true);

    const memory = await readFile(join(repo.dir, 'state/folding/MEMORY.md'), 'utf8');
    expect(memory).toContain('## Handoff\n\n### Goal\nMake it pass');
    const contexts = events.filter((e): e is EventOf<'context.assembled'> => e.type === 'context.assembled');
    expect(contexts[0]?.parts.memory).toBe(0);
    expect(contexts[1]?.parts.memory).toBeGreaterThan(0);

    const calls: CallRecord[] = await readAllSpend(repo.dir);
    const steps = calls.filter((c) => c.run === run).map((c) => c.step);
    expect(steps).toEqual(['work', 'summary', 'work', 'summary', 'work']);
  });

  it('falls back to the progress lines when the script has no summary turn, never storing "(script finished)"', async () => {
    await repo.addLoop(
      'no-summary',
      `---\nname: no-summary\nagent: { provider: scripted, tools: [list_files] }\n${FAILING}budget: { iterations: 2 }\n---\nWork.\n`,
      'turns:\n  - when: { step: work }\n    repeat: true\n    text: Tried one thing.\n',
    );
    const { events } = await runLoop('no-summary');
    expect(events.some((e) => e.type === 'model.request' && e.step === 'summary')).toBe(true);
    const memory = await readFile(join(repo.dir, 'state/no-summary/MEMORY.md'), 'utf8');
    expect(memory).not.toContain('script finished');
    expect(memory).not.toContain('## Handoff');
    expect(memory).toMatch(/Iteration 1: Tried one thing\./);
    expect(memory).toMatch(/Iteration 2: Tried one thing\./);
  });

  for (const reply of [
    {
      what: 'calls a tool',
      turn: [
        '    text: Let me look at the files first.',
        '    tool_calls:',
        '      - { name: list_files, input: {} }',
      ],
      message: 'the summary reply called list_files instead of writing a handoff',
    },
    { what: 'says nothing', turn: ['    text: ""'], message: 'the summary reply was empty' },
  ]) {
    it(`never stores an empty handoff: a summary reply that ${reply.what} falls back to progress and feedback, recorded as malformed`, async () => {
      await repo.addLoop(
        'odd-summary',
        `---\nname: odd-summary\nagent: { provider: scripted, tools: [list_files] }\n${FAILING}budget: { iterations: 2 }\n---\nWork.\n`,
        [
          'turns:',
          '  - when: { step: summary }',
          '    repeat: true',
          ...reply.turn,
          '  - when: { step: work }',
          '    repeat: true',
          '    text: Tried one thing.',
          '',
        ].join('\n'),
      );
      const { events } = await runLoop('odd-summary');
      expect(events.some((e) => e.type === 'model.request' && e.step === 'summary')).toBe(true);
      // The tool the summary asked for was never run.
      expect(events.filter((e) => e.type === 'tool.call')).toEqual([]);
      const errors = events.filter((e): e is EventOf<'error.recorded'> => e.type === 'error.recorded');
      expect(
        errors.filter((e) => e.class === 'malformed_output').map((e) => [e.message, e.iteration]),
      ).toEqual([[reply.message, 2]]);

      const memory = await readFile(join(repo.dir, 'state/odd-summary/MEMORY.md'), 'utf8');
      expect(memory).not.toContain('## Handoff');
      expect(memory).not.toContain('Let me look');
      expect(memory).toMatch(/Iteration 1: Tried one thing\./);
      expect(memory).toMatch(/## Last feedback\n\n\S/);
      const contexts = events.filter(
        (e): e is EventOf<'context.assembled'> => e.type === 'context.assembled',
      );
      expect(contexts[1]?.parts.memory).toBeGreaterThan(0);
    });
  }

  it('keeps the next iteration’s input bounded over 8 iterations of big tool outputs', async () => {
    await commitFile(
      'big.txt',
      `BIGDATA\n${'line of a large file that the agent reads every iteration\n'.repeat(500)}`,
    );
    await repo.addLoop(
      'eight',
      `---\nname: eight\nagent: { provider: scripted, tools: [read_file] }\n${FAILING}budget: { iterations: 8, tool_calls: 100 }\nmemory: { max_bytes: 1024 }\n# it repeats itself on purpose: no stall before the 8th iteration\nstall: { window: 10 }\n---\nRead big.txt.\n`,
      [
        'turns:',
        '  - when: { step: summary }',
        '    repeat: true',
        `    text: "### Progress and decisions\\n${'Read big.txt again and found nothing new. '.repeat(6)}"`,
        '  - when: { step: work, contains: Work on the task now }',
        '    repeat: true',
        '    tool_calls:',
        '      - { name: read_file, input: { path: big.txt } }',
        '  - when: { step: work, contains: BIGDATA }',
        '    repeat: true',
        '    text: Read the file; nothing to change yet.',
        '',
      ].join('\n'),
    );
    const { events } = await runLoop('eight');

    const toolOutput = events
      .filter((e): e is EventOf<'tool.result'> => e.type === 'tool.result')
      .reduce((n, e) => n + e.output.length, 0);
    // Per iteration: the tokens of the first work call (system, tools and the first user message).
    const firstInput = new Map<number, number>();
    for (const e of events) {
      if (e.type === 'model.response' && e.step === 'work' && !firstInput.has(e.iteration)) {
        firstInput.set(e.iteration, e.usage.input);
      }
    }
    const memoryChars = events
      .filter((e): e is EventOf<'context.assembled'> => e.type === 'context.assembled')
      .map((e) => e.parts.memory ?? 0);

    expect(firstInput.size).toBe(8);
    expect(toolOutput).toBeGreaterThan(8 * 15_000);
    // Bounded: iteration 8 starts about where iteration 2 did (a handoff and a few progress lines),
    // while every iteration read over 15,000 characters that a carried transcript would add; and once
    // MEMORY.md's cap folds the oldest progress lines, it stops growing at all.
    const at = (n: number): number => firstInput.get(n) ?? Infinity;
    expect(at(8) - at(2)).toBeLessThan(300);
    expect(at(8) - at(6)).toBeLessThanOrEqual(5);
    expect(Math.max(...memoryChars)).toBeLessThanOrEqual(1024);
  });

  it('trims old tool results inside a long iteration, keeping the latest ones whole', async () => {
    const file = `MIDDATA\n${'a medium sized line of text in a file\n'.repeat(80)}`;
    await commitFile('mid.txt', file);
    fake = await startFakeAnthropic(() => ({
      toolCalls: [{ name: 'read_file', input: { path: 'mid.txt' } }],
      usage: { input_tokens: 10, output_tokens: 5 },
    }));
    await repo.addLoop(
      'long-turn',
      `---\nname: long-turn\nagent: { provider: anthropic, model: claude-haiku-4-5, tools: [read_file] }\nbudget: { tool_calls: 10 }\n---\nRead mid.txt.\n`,
    );
    const { result } = await runDirect(repo.dir, 'long-turn', {
      contextBudgetTokens: 4_000,
      env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url },
    });
    expect(result.outcome).toBe('budget');

    const toolResults = (body: JsonObject): string[] =>
      (body.messages as Array<{ role: string; content: unknown }>).flatMap((m) =>
        Array.isArray(m.content)
          ? (m.content as Array<{ type: string; content?: unknown }>)
              .filter((p) => p.type === 'tool_result')
              .map((p) => String(p.content))
          : [],
      );
    const last = toolResults(fake.requests.at(-1)?.body ?? {});
    expect(last.length).toBe(10);
    expect(last.slice(-2).every((c) => c.startsWith('MIDDATA'))).toBe(true);
    const marker = /^\[trimmed: \d+ chars of read_file output\]$/;
    expect(last.filter((c) => marker.test(c)).length).toBeGreaterThanOrEqual(5);
    // Request sizes stop growing with each call once trimming starts.
    const sizes = fake.requests.map((r) => JSON.stringify(r.body.messages).length);
    expect(sizes.at(-1)).toBeLessThan((sizes[9] ?? 0) + file.length * 2);
    expect(sizes.at(-1)).toBeLessThan(file.length * 6);
  });
});
