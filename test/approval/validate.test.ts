import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { approvalNotes } from '../../src/core/approval/definition-check.js';
import { claudeCodeDisallowedTools } from '../../src/core/approval/providers.js';
import { ClaudeCodeProvider } from '../../src/models/claude-code.js';
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
