import { describe, expect, it } from 'vitest';
import { matchCall, runCandidates } from '../../src/core/approval/match.js';
import { parseRule, parseRules } from '../../src/core/approval/rules.js';
import { splitCommands } from '../../src/core/approval/shell.js';

const push = parseRules(['run:git push*']);
const run = (command: string) => ({ id: 'c1', name: 'run', input: { command } });

describe('a run: rule catches the command inside compound lines and wrappers', () => {
  it.each([
    'git push',
    'git push origin main --force',
    'cd x && git push',
    'make test; git push',
    'false || git push',
    'echo ok | git push',
    'sleep 1 & git push',
    '(cd sub; git push)',
    'echo $(git push)',
    'echo `git push`',
    'echo ok\ngit push',
    'env A=1 git push',
    'A=1 B=2 git push',
    'env A=1 sudo git push',
    'sudo -u deploy git push',
    'bash -c "cd y && git push -f"',
    "sh -lc 'git push'",
    'command git push',
    'nohup git push',
    'time git push',
    'echo main | xargs -n1 git push origin',
    'git -C ../other push',
    'git -c user.name=x --no-pager push',
    '/usr/bin/git push',
    'env -i PATH=/bin bash -ec "sudo git -C repo push"',
    'eval git push',
    'eval "git push origin main"',
    'bash -o pipefail -c "git push"',
    'sudo bash +O extglob -lc "git push"',
  ])('%s', (command) => {
    const match = matchCall(push, run(command));
    expect(match?.rule.raw).toBe('run:git push*');
    expect(match?.matched).toMatch(/git push/);
  });

  it.each(['git status', 'echo git push', 'git pull && git log', "grep -r 'push' .", 'echo "git" push'])(
    'leaves %s alone',
    (command) => {
      expect(matchCall(push, run(command))).toBeUndefined();
    },
  );

  it('lets * cross / and matches the whole simple command, not a substring', () => {
    const rules = parseRules(['run:rm -rf *']);
    expect(matchCall(rules, run('rm -rf /tmp/a/b'))).toBeDefined();
    expect(matchCall(rules, run('echo rm -rf /'))).toBeUndefined();
    const exact = parseRules(['run:npm publish']);
    expect(matchCall(exact, run('npm  publish'))).toBeDefined();
    expect(matchCall(exact, run('npm publish --tag next'))).toBeUndefined();
  });

  it('matches a shell redirect into a file as a run: command (with its redirection), never as a write:', () => {
    const writes = parseRules(['write:.env*']);
    expect(matchCall(writes, run('echo SECRET=1 > .env'))).toBeUndefined();
    const redirect = parseRules(['run:* > .env*']);
    expect(matchCall(redirect, run('echo SECRET=1 > .env'))?.matched).toBe('echo SECRET=1 > .env');
    expect(splitCommands('echo hi 2> err.log > out.txt')).toEqual([
      {
        argv: ['echo', 'hi'],
        redirects: [
          { op: '>', target: 'err.log' },
          { op: '>', target: 'out.txt' },
        ],
      },
    ]);
  });

  it('lists each wrapper layer as a candidate, outermost first', () => {
    expect(runCandidates('env A=1 sudo git -C x push').map((c) => c.text)).toEqual([
      'env A=1 sudo git -C x push',
      'sudo git -C x push',
      'git -C x push',
      'git push',
    ]);
    expect(matchCall(parseRules(['run:sudo *']), run('env A=1 sudo rm x'))?.matched).toBe('sudo rm x');
  });
});

const write = (name: string, path: string) => ({ id: 'w', name, input: { path, content: 'x' } });

describe('commands whose last words arrive at run time', () => {
  it('asks about what xargs runs whenever a rule could match it with more words', () => {
    const rules = parseRules(['run:git push*']);
    expect(matchCall(rules, run('echo push | xargs git'))?.matched).toBe('git');
    expect(matchCall(rules, run('printf "push\\n" | xargs -n1 git'))?.matched).toBe('git');
    expect(matchCall(rules, run('ls | xargs grep push'))).toBeUndefined();
    // Without xargs the words are all there: `git` alone is not `git push`.
    expect(matchCall(rules, run('git'))).toBeUndefined();
  });
});

describe('write: and mcp: rules', () => {
  it.each(['.env', './.env', 'a/../.env', 'a/b/../../.env', '/home/u/repo/.loops/wt/run-1/.env'])(
    'matches %s as the file tools resolve it',
    (target) => {
      const rules = parseRules(['write:.env']);
      expect(matchCall(rules, write('write_file', target))?.rule.raw).toBe('write:.env');
      expect(matchCall(rules, write('edit_file', target))?.rule.raw).toBe('write:.env');
    },
  );

  it('does not take a file next to the protected one for it', () => {
    const rules = parseRules(['write:.env']);
    for (const target of ['a/.env.example', 'env', 'x/../.envrc', '/tmp/.env2']) {
      expect(matchCall(rules, write('write_file', target))).toBeUndefined();
    }
  });

  it('matches write_file and edit_file paths, * crossing /', () => {
    const rules = parseRules(['write:src/**/*.sql', 'write:config/*']);
    expect(matchCall(rules, write('write_file', 'src/db/m/001.sql'))?.rule.raw).toBe('write:src/**/*.sql');
    expect(matchCall(rules, write('edit_file', './config/deep/app.json'))?.rule.raw).toBe('write:config/*');
    expect(matchCall(rules, write('write_file', 'src/app.ts'))).toBeUndefined();
    expect(matchCall(rules, write('read_file', 'config/app.json'))).toBeUndefined();
  });

  it('matches a connector tool by SERVER/TOOL', () => {
    const rules = parseRules(['mcp:github/create_*']);
    expect(matchCall(rules, { id: 'm', name: 'mcp__github__create_issue', input: {} })?.matched).toBe(
      'github/create_issue',
    );
    expect(matchCall(rules, { id: 'm', name: 'mcp__github__list_issues', input: {} })).toBeUndefined();
  });

  it("matches by the server's own tool name when the call's name was shortened for the model", () => {
    const call = { id: 'm', name: 'mcp__fs__files_delete_1f66796c', input: {} };
    expect(matchCall(parseRules(['mcp:fs/files.delete']), call)).toBeUndefined();
    const origin = { server: 'fs', tool: 'files.delete' };
    expect(matchCall(parseRules(['mcp:fs/files.delete']), call, origin)?.matched).toBe('fs/files.delete');
    expect(matchCall(parseRules(['mcp:fs/files.*']), call, origin)).toBeDefined();
    expect(matchCall(parseRules(['mcp:fs/files_delete*']), call, origin)).toBeUndefined();
    // A tool's own name may hold a slash; the server's cannot.
    const slashed = { server: 'fs', tool: 'files/delete' };
    expect(matchCall(parseRules(['mcp:fs/files/delete']), call, slashed)?.matched).toBe('fs/files/delete');
  });

  it('refuses a rule with no kind, an unknown kind, no pattern, or an mcp rule without a tool', () => {
    for (const bad of ['git push*', 'exec:git push', 'run:', 'mcp:github'])
      expect(parseRule(bad, 0)).toMatchObject({ ok: false });
    const parsed = parseRule('exec:git push', 0);
    expect(parsed.ok ? '' : parsed.message).toContain('run:PATTERN');
  });

  it('does not crash on unbalanced quotes: the words still match', () => {
    expect(matchCall(push, run('git push "unterminated'))).toBeDefined();
  });
});
