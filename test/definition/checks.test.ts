/** The single-value checks validate uses for what would otherwise fail only once a run is under way. */
import { describe, expect, it } from 'vitest';
import {
  baseRefProblem,
  captureGroups,
  cronProblem,
  MAX_BUDGET_MINUTES,
  MAX_TIMEOUT_SECONDS,
  MAX_TIMER_MS,
  regexProblem,
  urlSchemeProblem,
} from '../../src/core/definition/checks.js';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { lines, problemsOf, tempRepo } from './helpers.js';

describe('workspace.base', () => {
  it('accepts branches, tags, commits and revision steps', () => {
    for (const base of [
      'HEAD',
      'main',
      'origin/main',
      'release-1.2',
      'v1.0.0',
      'abc1234',
      'main~2',
      'HEAD^',
      'main^2~3',
    ]) {
      expect(baseRefProblem(base), base).toBeUndefined();
    }
  });

  it('refuses what git would read as an option or could not name', () => {
    const refused: Array<[string, string]> = [
      ['--orphan=x', 'starts with "-"'],
      ['-b', 'starts with "-"'],
      ['a..b', '".."'],
      ['a b', 'space'],
      ['a\tb', 'control character'],
      ['x:y', '":"'],
      ['what?', '"?"'],
      ['feat/*', '"*"'],
      ['a[1]', '"["'],
      ['a\\b', '"\\"'],
      ['a@{1}', '"@{"'],
      ['/main', 'empty part'],
      ['main/', 'empty part'],
      ['a//b', 'empty part'],
      ['main.', 'ends with "."'],
      ['.hidden', 'starts with "."'],
      ['x/.y', 'starts with "."'],
      ['main.lock', '.lock'],
      ['@', 'lone "@"'],
    ];
    for (const [base, why] of refused) expect(baseRefProblem(base), base).toContain(why);
  });
});

describe('the other checks', () => {
  it('regular expressions as the metric grader compiles them', () => {
    expect(regexProblem('score=([0-9.]+)')).toBeUndefined();
    expect(regexProblem('score=([0-9')).toMatch(/^not a valid regular expression \(/);
    expect(regexProblem('(?<n>a)(?<n>b)')).toContain('not a valid regular expression');
    expect(captureGroups('score=([0-9.]+)')).toBe(1);
    expect(captureGroups('(?:a)(b)|(c)')).toBe(2);
    expect(captureGroups('[0-9]+')).toBe(0);
  });

  it('cron expressions in five fields, as the triggers will schedule them', () => {
    for (const cron of ['*/5 * * * *', '0 9 * * 1-5', '@daily', '0 0 1 1 *'])
      expect(cronProblem(cron), cron).toBeUndefined();
    expect(cronProblem('61 * * * *')).toContain('Invalid value for minute');
    expect(cronProblem('0 0 * * * *')).toContain('requires exactly 5 parts');
    expect(cronProblem('every day')).toContain('is not a cron expression');
  });

  it('endpoints over http(s) only', () => {
    expect(urlSchemeProblem('http://localhost:11434/v1')).toBeUndefined();
    expect(urlSchemeProblem('https://example.test/v1')).toBeUndefined();
    for (const url of ['file:///etc/passwd', 'ftp://host/x', 'javascript:alert(1)']) {
      expect(urlSchemeProblem(url), url).toContain('must be an http:// or https:// address');
    }
  });

  it('timer limits are what setTimeout can hold', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    expect(MAX_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect((MAX_TIMEOUT_SECONDS + 1) * 1000).toBeGreaterThan(MAX_TIMER_MS);
    expect(MAX_BUDGET_MINUTES * 60_000).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect((MAX_BUDGET_MINUTES + 1) * 60_000).toBeGreaterThan(MAX_TIMER_MS);
  });
});

describe('in a LOOP.md', () => {
  it('an empty value is one problem, not one per check', async () => {
    const root = await tempRepo({
      'loops/e/LOOP.md': lines(
        '---',
        'name: e',
        'trigger: { cron: "" }',
        'workspace: { base: "" }',
        '---',
        'x',
      ),
    });
    expect(problemsOf(await loadLoop(root, 'e')).map(formatProblem)).toEqual([
      'loops/e/LOOP.md:3: trigger.cron: must not be empty',
      'loops/e/LOOP.md:4: workspace.base: must not be empty',
    ]);
  });

  it('a time zone that does not exist is an error at its line', async () => {
    const root = await tempRepo({
      'loops/z/LOOP.md': lines(
        '---',
        'name: z',
        'trigger:',
        '  cron: "0 9 * * *"',
        '  timezone: Mars/Olympus_Mons',
        '---',
        'x',
      ),
      'loops/ok/LOOP.md': lines(
        '---',
        'name: ok',
        'trigger: { cron: "0 9 * * *", timezone: Asia/Kolkata }',
        '---',
        'x',
      ),
    });
    expect(problemsOf(await loadLoop(root, 'z')).map(formatProblem)).toEqual([
      'loops/z/LOOP.md:5: trigger.timezone: "Mars/Olympus_Mons" is not a time zone: use an IANA name such as Europe/Berlin or America/New_York',
    ]);
    expect((await loadLoop(root, 'ok')).ok).toBe(true);
  });

  it('watch globs must stay inside the repository and outside the folders it never watches', async () => {
    const root = await tempRepo({
      'loops/w/LOOP.md': lines(
        '---',
        'name: w',
        'trigger:',
        '  watch:',
        '    - "src/**/*.ts"',
        '    - "/etc/**"',
        '    - "../other/**"',
        '    - "src/../../x/*.md"',
        '    - "state/**"',
        '    - "!src/skip.ts"',
        '    - docs',
        '---',
        'x',
      ),
    });
    const problems = problemsOf(await loadLoop(root, 'w')).map(formatProblem);
    expect(problems.map((p) => p.split(': ').slice(0, 2).join(': '))).toEqual([
      'loops/w/LOOP.md:6: trigger.watch[1]',
      'loops/w/LOOP.md:7: trigger.watch[2]',
      'loops/w/LOOP.md:8: trigger.watch[3]',
      'loops/w/LOOP.md:9: trigger.watch[4]',
      'loops/w/LOOP.md:10: trigger.watch[5]',
    ]);
    expect(problems[0]).toContain('not an absolute path');
    expect(problems[1]).toContain('outside the repository');
    expect(problems[2]).toContain('outside the repository');
    expect(problems[3]).toContain('never looks into');
    expect(problems[4]).toContain('negated');
  });

  it('the largest timer that fits is accepted', async () => {
    const root = await tempRepo({
      'loops/t/LOOP.md': lines(
        '---',
        'name: t',
        `budget: { minutes: ${MAX_BUDGET_MINUTES} }`,
        'verify:',
        `  - { command: npm test, timeout: ${MAX_TIMEOUT_SECONDS} }`,
        '---',
        'x',
      ),
    });
    expect((await loadLoop(root, 't')).ok).toBe(true);
  });
});
