/** A whole run whose agent uses an MCP connector's tools: the reference "everything" server. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import { readTrace } from '../../src/state/trace.js';
import { fileURLToPath } from 'node:url';
import { makeRepo, type TestRepo } from './helpers.js';
import { makeCliFixture } from '../models/cli-fixture.js';
import { mcpToolName } from '../../src/tools/mcp/names.js';

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

const MINE = fileURLToPath(new URL('../tools/fixtures/mcp-crashy.mjs', import.meta.url));

const HINTED_SCRIPT = `turns:
  - text: Cleaning up.
    tool_calls:
      - { name: mcp__mine__wipe, input: {} }
      - { name: mcp__mine__ok, input: {} }
  - text: Done.
`;

let repo: TestRepo;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await repo.cleanup();
});

const loop = (mcp: string, toolCalls = 40, approve = '[]'): string => `---
name: ask-server
agent:
  provider: scripted
  tools: [read_file]
  mcp: [${mcp}]
verify:
  - command: "true"
approve: ${approve}
budget: { iterations: 1, tool_calls: ${toolCalls} }
---
Use the server.
`;

const SCRIPT = `turns:
  - text: Asking the server.
    tool_calls:
      - { name: mcp__every__echo, input: { message: from the agent } }
      - { name: mcp__every__get-sum, input: { a: 20, b: 22 } }
  - text: Done.
`;

describe('a run with an MCP connector', () => {
  it('offers the server tools to the agent and records each call like a built-in tool', async () => {
    await repo.addLoop(
      'ask-server',
      loop(`{ name: every, command: node, args: ["${EVERYTHING}", stdio] }`),
      SCRIPT,
    );
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    expect(result.outcome).toBe('verified');
    expect(result.toolCalls).toBe(2);
    const events = await readTrace(result.tracePath);
    const started = events.find((e) => e.type === 'connector.started');
    expect(started?.type === 'connector.started' && started.tools).toContain('mcp__every__echo');
    const results = events.flatMap((e) => (e.type === 'tool.result' ? [e] : []));
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['mcp__every__echo', true],
      ['mcp__every__get-sum', true],
    ]);
    expect(results[0]?.output).toBe('Echo: from the agent');
    expect(results[1]?.output).toContain('42');
    expect(events.some((e) => e.type === 'connector.log' && e.server === 'every')).toBe(true);
    // All its tools are read-only or hinted not destructive: none asks.
    expect(events.some((e) => e.type === 'run.error' && e.kind === 'approval.hinted')).toBe(false);
    expect(events.some((e) => e.type === 'approval.requested')).toBe(false);
    // Closed by loops at the run's end: that is no news.
    expect(events.some((e) => e.type === 'run.error' && e.kind === 'connector')).toBe(false);
  });

  it('says at once, in a run.error naming it with its stderr, that a server died mid-run', async () => {
    await repo.addLoop(
      'ask-server',
      loop(`{ name: mine, command: node, args: ["${MINE}"], approve: never }`),
      'turns:\n  - text: Crashing it.\n    tool_calls:\n      - { name: mcp__mine__crash, input: {} }\n  - text: Done.\n',
    );
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    const events = await readTrace(result.tracePath);
    const died = events.flatMap((e) => (e.type === 'run.error' && e.kind === 'connector' ? [e.message] : []));
    expect(died).toHaveLength(1);
    expect(died[0]).toContain('MCP server "mine" stopped during the run');
    expect(died[0]).toContain('crashy: going down');
  });

  it('counts MCP calls against the tool_calls cap', async () => {
    await repo.addLoop(
      'ask-server',
      loop(`{ name: every, command: node, args: ["${EVERYTHING}", stdio] }`, 1),
      SCRIPT,
    );
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    expect(result.outcome).toBe('budget');
    expect(result.budget?.cap).toBe('tool_calls');
    expect(result.toolCalls).toBe(1);
  });

  it('asks before a connector tool an mcp: rule names; with nobody to ask, that call is denied and the rest run', async () => {
    await repo.addLoop(
      'ask-server',
      loop(`{ name: every, command: node, args: ["${EVERYTHING}", stdio] }`, 40, '["mcp:every/echo"]'),
      SCRIPT,
    );
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    const events = await readTrace(result.tracePath);
    const asked = events.find((e) => e.type === 'approval.requested');
    expect(asked?.type === 'approval.requested' && [asked.tool, asked.rule]).toEqual([
      'mcp__every__echo',
      'mcp:every/echo',
    ]);
    const results = events.flatMap((e) => (e.type === 'tool.result' ? [e] : []));
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['mcp__every__echo', false],
      ['mcp__every__get-sum', true],
    ]);
    expect(results[0]?.output).toMatch(/denied/);
  });

  it('asks before a tool its server hints may be destructive, with no rule: denied headless, read-only runs', async () => {
    await repo.addLoop('ask-server', loop(`{ name: mine, command: node, args: ["${MINE}"] }`), HINTED_SCRIPT);
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    const events = await readTrace(result.tracePath);
    const note = events.find((e) => e.type === 'run.error' && e.kind === 'approval.hinted');
    expect(note?.type === 'run.error' && note.message).toBe(
      'MCP server mine: crash, wipe ask a person before each call (their hints say they may be destructive); ' +
        'a run with nobody to ask denies them. Set approve: never on the server to let them run',
    );
    const asked = events.flatMap((e) => (e.type === 'approval.requested' ? [e] : []));
    expect(asked.map((e) => [e.tool, e.rule])).toEqual([
      ['mcp__mine__wipe', "mcp:mine/wipe may be destructive, by its server's hints"],
    ]);
    const results = events.flatMap((e) => (e.type === 'tool.result' ? [e] : []));
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['mcp__mine__wipe', false],
      ['mcp__mine__ok', true],
    ]);
    expect(results[0]?.output).toMatch(/denied without asking/);
  });

  it('runs a destructive-hinted tool without asking when the server says approve: never', async () => {
    await repo.addLoop(
      'ask-server',
      loop(`{ name: mine, command: node, args: ["${MINE}"], approve: never }`),
      HINTED_SCRIPT,
    );
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    const events = await readTrace(result.tracePath);
    expect(events.some((e) => e.type === 'approval.requested')).toBe(false);
    expect(events.some((e) => e.type === 'run.error' && e.kind === 'approval.hinted')).toBe(false);
    const results = events.flatMap((e) => (e.type === 'tool.result' ? [e] : []));
    expect(results.map((r) => [r.name, r.ok, r.output])).toEqual([
      ['mcp__mine__wipe', true, 'wiped (not really)'],
      ['mcp__mine__ok', true, 'ok'],
    ]);
  });

  it("matches an mcp: rule on a tool's own name when the model sees it shortened (a dot in it)", async () => {
    const shortened = mcpToolName('mine', 'records.export');
    expect(shortened).toMatch(/^mcp__mine__records_export_[0-9a-f]{8}$/);
    await repo.addLoop(
      'ask-server',
      loop(
        `{ name: mine, command: node, args: ["${MINE}"], approve: never }`,
        40,
        '["mcp:mine/records.export"]',
      ),
      `turns:\n  - text: Exporting.\n    tool_calls:\n      - { name: ${shortened}, input: {} }\n      - { name: mcp__mine__ok, input: {} }\n  - text: Done.\n`,
    );
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    const events = await readTrace(result.tracePath);
    const asked = events.flatMap((e) => (e.type === 'approval.requested' ? [e] : []));
    expect(asked.map((e) => [e.tool, e.rule, e.matched])).toEqual([
      [shortened, 'mcp:mine/records.export', 'mine/records.export'],
    ]);
    const results = events.flatMap((e) => (e.type === 'tool.result' ? [e] : []));
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      [shortened, false],
      ['mcp__mine__ok', true],
    ]);
  });

  it('does not start servers for an agent that makes its own tool calls, and says so', async () => {
    const cli = await makeCliFixture({ claude: 'fake-claude.mjs' });
    try {
      await repo.addLoop(
        'ask-server',
        loop(`{ name: mine, command: node, args: ["${MINE}"] }`).replace(
          'provider: scripted',
          'provider: claude-code',
        ),
      );
      supervisor = await Supervisor.open(repo.dir, {
        env: cli.env('ok', { ANTHROPIC_API_KEY: 'sk-test' }),
        maxRetries: 0,
      });
      const result = await supervisor.start('ask-server');
      const events = await readTrace(result.tracePath);
      const note = events.find((e) => e.type === 'run.error' && e.kind === 'connector.unused');
      expect(note?.type === 'run.error' && note.message).toContain(
        'agent.mcp is not used: the claude-code agent makes its own tool calls',
      );
      expect(events.some((e) => e.type === 'connector.started')).toBe(false);
      // The agent itself ran.
      expect(events.some((e) => e.type === 'model.response')).toBe(true);
    } finally {
      await cli.cleanup();
    }
  });

  it('fails the run before any model call when a server cannot start, naming it', async () => {
    await repo.addLoop('ask-server', loop('{ name: broken, command: no-such-mcp-server-command }'), SCRIPT);
    supervisor = await Supervisor.open(repo.dir, { env: { PATH: process.env.PATH ?? '' }, maxRetries: 0 });
    const result = await supervisor.start('ask-server');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toContain('MCP server "broken" could not start');
    const events = await readTrace(result.tracePath);
    expect(events.some((e) => e.type === 'model.request')).toBe(false);
  });
});
