/** The scripted model's `system_contains` condition: a model that does the task right only when the skill says so. */
import { describe, expect, it } from 'vitest';
import type { ModelRequest } from '../../src/models/provider.js';
import { parseScript, SCRIPT_FINISHED, ScriptedProvider } from '../../src/models/scripted.js';
import { makeRequest } from './helpers.js';

function asked(system: string, text = 'go', extra: Partial<ModelRequest> = {}): ModelRequest {
  return makeRequest({ system, messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra });
}

const SCRIPT = `turns:
  - when: { system_contains: remove each one, contains: stale }
    text: removing all
  - when: { contains: stale }
    text: leaving one
  - when: { step: analyst, system_contains: harness }
    repeat: true
    text: proposing
`;

describe('system_contains', () => {
  it('plays a turn only when the system prompt holds the text, with every other condition', async () => {
    const lacking = new ScriptedProvider(parseScript(SCRIPT, 'SCRIPT.yaml'));
    expect((await lacking.complete(asked('# Skills\nRead the file.', 'stale comment'))).text).toBe(
      'leaving one',
    );
    const told = new ScriptedProvider(parseScript(SCRIPT, 'SCRIPT.yaml'));
    expect((await told.complete(asked('# Skills\nremove each one', 'nothing here'))).text).toBe(
      SCRIPT_FINISHED,
    );
    expect((await told.complete(asked('# Skills\nremove each one', 'stale comment'))).text).toBe(
      'removing all',
    );
  });

  it('works for the analyst step, and the step still has to match', async () => {
    const p = new ScriptedProvider(parseScript(SCRIPT, 'SCRIPT.yaml'));
    expect((await p.complete(asked('improve the harness', 'x', { step: 'analyst' }))).text).toBe('proposing');
    expect((await p.complete(asked('improve the harness', 'x', { step: 'review' }))).text).toBe(
      SCRIPT_FINISHED,
    );
  });

  it('is validated like the other conditions', () => {
    expect(() => parseScript('turns:\n  - when: { system_contains: "" }\n    text: x\n', 'S.yaml')).toThrow(
      /S\.yaml:2: turns\[0\]\.when\.system_contains/,
    );
  });
});
