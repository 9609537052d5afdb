import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { approvalNotes } from '../../src/core/approval/definition-check.js';
import { claudeCodeDisallowedTools } from '../../src/core/approval/providers.js';
import { ClaudeCodeProvider } from '../../src/models/claude-code.js';
import { cliAgentNotes } from '../../src/models/cli-notes.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { makeCliFixture, type CliFixture } from '../models/cli-fixture.js';
import { makeRequest } from '../models/helpers.js';

let repo: TestRepo;

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await repo.cleanup();
});

async function load(front: string) {
  await repo.addLoop('guarded', `---\nname: guarded\n${front}---\nWork.\n`);
  return loadLoop(repo.dir, 'guarded');
}

describe('validating approve: rules', () => {
  it('names a rule with a bad prefix by file, line and field', async () => {
    const result = await load(
      'agent: { provider: anthropic }\napprove:\n  - "run:git push*"\n  - "exec:rm -rf *"\n',
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    expect(problems).toEqual([
      expect.stringMatching(
        /^loops\/guarded\/LOOP\.md:6: approve\[1\]: "exec:rm -rf \*" is not an approval rule/,
      ),
    ]);
  });

  it('notes that a shell redirect is matched as a run: command, not as a write:', async () => {
    await repo.addLoop(
      'guarded',
      '---\nname: guarded\nagent: { provider: scripted }\napprove: ["write:.env*"]\n---\nWork.\n',
      'turns:\n  - text: done\n',
    );
    const result = await loadLoop(repo.dir, 'guarded');
    expect(result.ok ? [] : result.problems).toEqual([]);
    const notes = result.ok ? approvalNotes(result.definition) : [];
    expect(notes).toEqual([
      expect.stringContaining('a shell redirect into a file (echo x > FILE) is a run: command'),
    ]);
  });

  it('names every rule a codex or command agent cannot enforce', async () => {
    // A grader of its own: a codex agent cannot host the default checker (a problem of its own).
    const result = await load(
      'agent: { provider: codex }\nverify: [{ command: "true" }]\napprove: ["run:git push*", "write:db/**"]\n',
    );
    const notes = result.ok ? approvalNotes(result.definition) : ['not ok'];
    expect(notes.filter((n) => n.includes('is not enforced'))).toEqual([
      expect.stringContaining('approve rule run:git push* is not enforced: the codex agent'),
      expect.stringContaining('approve rule write:db/** is not enforced: the codex agent'),
    ]);
  });

  it('notes an mcp: rule naming a server the loop does not have', async () => {
    const result = await load('agent: { provider: anthropic }\napprove: ["mcp:github/create_issue"]\n');
    const notes = result.ok ? approvalNotes(result.definition) : ['not ok'];
    expect(notes).toEqual([
      'approve rule mcp:github/create_issue names no server in agent.mcp, so it has nothing to match',
    ]);
  });

  it('says a claude-code loop denies matching calls, and where its glob differs', async () => {
    const result = await load(
      'agent: { provider: claude-code }\napprove: ["run:git push*", "write:src/*.sql"]\n',
    );
    const notes = result.ok ? approvalNotes(result.definition) : ['not ok'];
    expect(notes.join('\n')).toContain('denied, never asked');
    expect(notes.join('\n')).toContain(
      'approve rule write:src/*.sql: in Claude Code a single * does not cross /',
    );
  });
});

describe('claude-code enforces the rules through its own permission list', () => {
  let cli: CliFixture;
  beforeEach(async () => {
    cli = await makeCliFixture({ claude: 'fake-claude.mjs' });
  });
  afterEach(async () => {
    await cli.cleanup();
  });

  it('passes each rule to --disallowedTools', async () => {
    const disallowed = claudeCodeDisallowedTools([
      'run:git push*',
      'write:secrets/**',
      'mcp:github/create_issue',
    ]);
    expect(disallowed).toEqual([
      'Bash(git push*)',
      'Edit(secrets/**)',
      'Write(secrets/**)',
      'mcp__github__create_issue',
    ]);
    const provider = new ClaudeCodeProvider({ env: cli.env('ok'), disallowedTools: disallowed });
    await provider.complete(makeRequest({ model: 'claude-sonnet-4-6', cwd: cli.worktree }));
    const { args } = await cli.started();
    const at = args.indexOf('--disallowedTools');
    expect(at).toBeGreaterThan(0);
    expect(args.slice(at + 1, at + 5)).toEqual(disallowed);
  });

  it('passes nothing when the loop has no rules', async () => {
    const provider = new ClaudeCodeProvider({
      env: cli.env('ok'),
      disallowedTools: claudeCodeDisallowedTools([]),
    });
    await provider.complete(makeRequest({ model: 'claude-sonnet-4-6', cwd: cli.worktree }));
    expect((await cli.started()).args).not.toContain('--disallowedTools');
  });
});

describe('validating connector policies and agent settings a provider does not use', () => {
  it('says per server which tools will ask, and that the tools are known only once it starts', async () => {
    const result = await load(
      'agent:\n  provider: anthropic\n  mcp:\n    - { name: fs, command: fs-server }\n' +
        '    - { name: gh, command: gh-server, approve: always }\n    - { name: db, command: db-server, approve: never }\n',
    );
    const notes = result.ok ? approvalNotes(result.definition) : ['not ok'];
    expect(notes).toEqual([
      expect.stringMatching(
        /^agent\.mcp fs: tools its hints say may be destructive .* known when the server starts/,
      ),
      'agent.mcp gh: every tool asks a person before each call (approve: always). A run with nobody to ask denies them',
      'agent.mcp db: no tool asks by its hints (approve: never); approve: rules still ask',
    ]);
  });

  it('refuses a policy that is not one of hinted, always, never, at its line', async () => {
    const result = await load('agent:\n  mcp:\n    - { name: fs, command: fs-server, approve: sometimes }\n');
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    expect(problems).toEqual([
      expect.stringMatching(/^loops\/guarded\/LOOP\.md:5: agent\.mcp\[0\]\.approve: /),
    ]);
  });

  it('warns that agent.mcp is not used by an agent that makes its own tool calls', async () => {
    const result = await load(
      'agent:\n  provider: codex\n  mcp: [{ name: fs, command: fs-server }]\nverify: [{ command: "true" }]\n',
    );
    expect(result.ok && result.warnings.map(formatProblem)).toEqual([
      expect.stringMatching(
        /^loops\/guarded\/LOOP\.md:5: agent\.mcp: not used: the codex agent makes its own tool calls/,
      ),
    ]);
    expect(result.ok && approvalNotes(result.definition)).toEqual([]);
  });

  it('warns that agent.base_url changes nothing for the command provider', async () => {
    const result = await load(
      'agent:\n  provider: command\n  command: ["my-agent"]\n  base_url: "http://127.0.0.1:1/v1"\n' +
        'verify: [{ command: "true" }]\n',
    );
    expect(result.ok && result.warnings.map(formatProblem)).toEqual([
      expect.stringMatching(
        /^loops\/guarded\/LOOP\.md:6: agent\.base_url: not used: the command provider calls no model API/,
      ),
    ]);
  });

  it('notes that current Codex ignores OPENAI_BASE_URL unless agent.base_url is set', async () => {
    const front = 'agent: { provider: codex }\nverify: [{ command: "true" }]\n';
    const result = await load(front);
    const def = result.ok ? result.definition : undefined;
    expect(def && cliAgentNotes(def, { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' })).toEqual([
      expect.stringContaining('current Codex no longer reads it'),
    ]);
    expect(def && cliAgentNotes(def, {})).toEqual([]);
    const set = await load(
      'agent: { provider: codex, base_url: "http://127.0.0.1:1/v1" }\nverify: [{ command: "true" }]\n',
    );
    expect(set.ok && cliAgentNotes(set.definition, { OPENAI_BASE_URL: 'http://x/v1' })).toEqual([]);
  });
});
