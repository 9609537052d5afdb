import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFleetFile, parseFleetText, requireFleetFile, FleetFileError } from '../../src/fleet/file.js';
import { validateFleetFile } from '../../src/fleet/validate.js';
import { fleetFrom } from '../../src/fleet/index.js';
import { scrubEnv } from '../../src/process/env.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function repoWith(text?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'loops-fleet-file-'));
  dirs.push(dir);
  await mkdir(path.join(dir, 'loops'), { recursive: true });
  if (text !== undefined) await writeFile(path.join(dir, 'loops', 'loops.yaml'), text);
  return dir;
}

function problems(text: string): string[] {
  const loaded = parseFleetText(text);
  if (loaded.ok) throw new Error('expected problems');
  return loaded.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
}

describe('loops/loops.yaml', () => {
  it('is optional: no file means no caps, notifications from LOOPS_NOTIFY_URL', async () => {
    const loaded = await loadFleetFile(await repoWith());
    expect(loaded).toMatchObject({ ok: true, exists: false });
    if (!loaded.ok) return;
    expect(loaded.fleet.budget).toBeUndefined();
    expect(loaded.fleet.max_concurrent).toBeUndefined();
    expect(loaded.fleet.notify).toEqual({
      url_env: 'LOOPS_NOTIFY_URL',
      on: ['outcome', 'needs_person', 'fleet'],
    });
    const fleet = fleetFrom(loaded.fleet, {});
    // No caps: the gate stays out of every call, runs at once keep the supervisor's default.
    expect(fleet.options).toEqual({});
    expect(fleet.jobs.map((j) => j.name)).toEqual(['outbound notifications']);
  });

  it('reads every field', async () => {
    const root = await repoWith(
      [
        'budget:',
        '  daily_usd: 20',
        '  burn_usd_per_hour: 5.5',
        'notify:',
        '  url_env: TEAM_NOTIFY_URL',
        '  on: [outcome]',
        'webhooks: { port: 8787 }',
        'max_concurrent: 6',
        '',
      ].join('\n'),
    );
    const fleet = await requireFleetFile(root);
    expect(fleet).toEqual({
      budget: { daily_usd: 20, burn_usd_per_hour: 5.5 },
      notify: { url_env: 'TEAM_NOTIFY_URL', on: ['outcome'] },
      webhooks: { port: 8787 },
      max_concurrent: 6,
    });
    const made = fleetFrom(fleet, {});
    expect(made.options.maxConcurrent).toBe(6);
    expect(made.options.callGate).toBe(made.gate);
    expect(made.jobs).toEqual([made.gate, made.outbound]);
  });

  it('names the line and field of an unknown key, with a hint', () => {
    expect(problems(['budget:', '  daily_usd: 20', '  daly_usd: 3', ''].join('\n'))).toEqual([
      expect.stringMatching(
        /^loops\/loops\.yaml:3: budget\.daly_usd: unknown key "daly_usd"; did you mean "daily_usd"\?/,
      ),
    ]);
    expect(problems('max_concurrent: 2\nbudgets: {}\n')[0]).toMatch(
      /^loops\/loops\.yaml:2: budgets: unknown key/,
    );
  });

  it('names the line and field of a wrong value', () => {
    expect(problems('max_concurrent: 2\nbudget:\n  daily_usd: -1\n')).toEqual([
      expect.stringMatching(/^loops\/loops\.yaml:3: budget\.daily_usd: /),
    ]);
    expect(problems('budget:\n  burn_usd_per_hour: "lots"\n')).toEqual([
      expect.stringMatching(
        /^loops\/loops\.yaml:2: budget\.burn_usd_per_hour: expected a positive number, got "lots"/,
      ),
    ]);
    expect(problems('notify:\n  on: [outcome, sms]\n')).toEqual([
      expect.stringMatching(
        /^loops\/loops\.yaml:2: notify\.on\[1\]: expected one of: outcome, needs_person, fleet; got "sms"/,
      ),
    ]);
    expect(problems('webhooks:\n  port: 70000\n')[0]).toMatch(/^loops\/loops\.yaml:2: webhooks\.port: /);
    expect(problems('\n\nmax_concurrent: 1.5\n')[0]).toMatch(/^loops\/loops\.yaml:3: max_concurrent: /);
  });

  it('refuses a URL variable the agent would see, and a URL written in the file', () => {
    // A name the environment scrubber does not recognise would hand the secret URL to the agent's commands.
    expect(problems('notify:\n  url_env: SLACK_HOOK\n')).toEqual([
      expect.stringMatching(/^loops\/loops\.yaml:2: notify\.url_env: the URL is a secret/),
    ]);
    expect(problems('notify:\n  url_env: "https://hooks.example/x"\n')[0]).toMatch(
      /notify\.url_env: .*environment variable name/,
    );
    expect(
      scrubEnv({
        LOOPS_NOTIFY_URL: 'https://x',
        TEAM_NOTIFY_URL: 'https://y',
        TEAM_WEBHOOK_URL: 'z',
        PATH: '/bin',
      }),
    ).toEqual({
      PATH: '/bin',
    });
  });

  it('reports YAML syntax and a file that is not a mapping as the whole file', () => {
    expect(problems('budget: [\n')[0]).toMatch(/^loops\/loops\.yaml:\d+: \(file\): YAML syntax/);
    expect(problems('- 1\n- 2\n')[0]).toMatch(
      /^loops\/loops\.yaml:1: \(file\): loops\.yaml must be "key: value" settings/,
    );
    expect(problems('budget: !!binary aGk=\n')[0]).toMatch(/\(file\): the YAML tag !!binary is not allowed/);
  });

  it('an empty file is valid and caps nothing', () => {
    const loaded = parseFleetText('');
    expect(loaded).toMatchObject({
      ok: true,
      exists: true,
      fleet: { notify: { url_env: 'LOOPS_NOTIFY_URL' } },
    });
  });

  it('refuses a symlink out of the repository, and the commands refuse to open with a bad file', async () => {
    const outside = await repoWith();
    await writeFile(path.join(outside, 'elsewhere.yaml'), 'max_concurrent: 1\n');
    const root = await repoWith();
    await symlink(path.join(outside, 'elsewhere.yaml'), path.join(root, 'loops', 'loops.yaml'));
    const loaded = await loadFleetFile(root);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok)
      expect(loaded.problems[0]).toMatchObject({ file: 'loops/loops.yaml', line: 1, field: '(file)' });
    await expect(requireFleetFile(root)).rejects.toBeInstanceOf(FleetFileError);
    await expect(requireFleetFile(root)).rejects.toThrow(/loops\/loops\.yaml has 1 problem/);
  });

  it('loops validate prints the file ok with notes, or its problems and their count', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const good = await repoWith('budget: { daily_usd: 10 }\n');
    expect(
      await validateFleetFile(
        good,
        (l) => out.push(l),
        (l) => err.push(l),
      ),
    ).toBe(0);
    expect(out[0]).toBe('ok  loops/loops.yaml');
    expect(out.join('\n')).toContain('$10 in a day');
    const hooks = await repoWith('max_concurrent: 2\nwebhooks:\n  port: 8787\n');
    const said: string[] = [];
    expect(await validateFleetFile(hooks, (l) => said.push(l))).toBe(0);
    expect(said).toContain(
      '    note: the webhook server listens on 127.0.0.1:8787 while a loop has a webhook trigger',
    );
    const bad = await repoWith('budget: { daily_usd: 10, weekly_usd: 50 }\n');
    expect(
      await validateFleetFile(
        bad,
        (l) => out.push(l),
        (l) => err.push(l),
      ),
    ).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^loops\/loops\.yaml:1: budget\.weekly_usd: unknown key/)]);
    const none = await repoWith();
    const quiet: string[] = [];
    expect(await validateFleetFile(none, (l) => quiet.push(l))).toBe(0);
    expect(quiet).toEqual([]);
  });
});
