import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_ENV, CODEX_ENV, cliEnv, Redactor } from '../../src/models/cli-env.js';

const PARENT = {
  PATH: '/usr/bin',
  HOME: '/home/someone',
  ANTHROPIC_API_KEY: 'sk-ant-0123456789',
  CLAUDE_CODE_OAUTH_TOKEN: 'oauth-0123456789',
  OPENAI_API_KEY: 'sk-openai-0123456789',
  OPENAI_ORG_ID: 'org-0123456789',
  CODEX_HOME: '/home/someone/.codex',
  GITHUB_TOKEN: 'ghp_0123456789',
  UNSET: undefined,
};

describe('cliEnv', () => {
  it('passes the scrubbed environment and, of the credentials, only the allowed ones', () => {
    expect(cliEnv(PARENT, CLAUDE_CODE_ENV)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/someone',
      CODEX_HOME: '/home/someone/.codex',
      ANTHROPIC_API_KEY: 'sk-ant-0123456789',
      CLAUDE_CODE_OAUTH_TOKEN: 'oauth-0123456789',
    });
    expect(cliEnv(PARENT, CODEX_ENV)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/someone',
      CODEX_HOME: '/home/someone/.codex',
      OPENAI_API_KEY: 'sk-openai-0123456789',
    });
    expect(cliEnv(PARENT, [])).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/someone',
      CODEX_HOME: '/home/someone/.codex',
    });
  });
});

describe('Redactor', () => {
  it('cuts out the values of secret-named variables, inside strings, arrays and objects', () => {
    const r = new Redactor(PARENT);
    expect(r.text('key sk-ant-0123456789 and ghp_0123456789, home /home/someone')).toBe(
      'key [redacted] and [redacted], home /home/someone',
    );
    expect(r.value({ cmd: ['echo', 'sk-openai-0123456789'], n: 3 })).toEqual({
      cmd: ['echo', '[redacted]'],
      n: 3,
    });
  });

  it('cuts a secret that holds another out whole, and leaves values too short to be telling', () => {
    const r = new Redactor({ A_TOKEN: 'abcdefgh', B_TOKEN: 'abcdefgh-longer', PIN_SECRET: 'short' });
    expect(r.text('abcdefgh-longer abcdefgh short')).toBe('[redacted] [redacted] short');
  });
});
