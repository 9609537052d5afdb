import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureStateGitignore, newRunId, StatePathError, statePaths } from '../../src/state/paths.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();

describe('statePaths', () => {
  it('lays out state/ as PRODUCT.md describes', () => {
    const p = statePaths('/repo');
    expect(p.root).toBe(path.resolve('/repo/state'));
    expect(p.index).toBe(path.resolve('/repo/state/loops.json'));
    expect(p.loopDir('fix-tests')).toBe(path.resolve('/repo/state/fix-tests'));
    expect(p.memory('fix-tests')).toBe(path.resolve('/repo/state/fix-tests/MEMORY.md'));
    expect(p.runsDir('fix-tests')).toBe(path.resolve('/repo/state/fix-tests/runs'));
    expect(p.runSummary('fix-tests', '20261124-071502-a3f9')).toBe(
      path.resolve('/repo/state/fix-tests/runs/20261124-071502-a3f9.md'),
    );
    expect(p.tracesDir('fix-tests')).toBe(path.resolve('/repo/state/fix-tests/traces'));
    expect(p.trace('fix-tests', '20261124-071502-a3f9')).toBe(
      path.resolve('/repo/state/fix-tests/traces/20261124-071502-a3f9.jsonl'),
    );
  });

  it('refuses names that would leave their folder', () => {
    const p = statePaths('/repo');
    expect(() => p.memory('../etc')).toThrow(StatePathError);
    expect(() => p.loopDir('Fix_Tests')).toThrow(/invalid loop name "Fix_Tests"/);
    expect(() => p.trace('ok', '../../x')).toThrow(/invalid run id/);
    expect(() => p.runSummary('ok', '.hidden')).toThrow(StatePathError);
    expect(() => p.runSummary('ok', 'a/b')).toThrow(StatePathError);
  });
});

describe('newRunId', () => {
  it('is the UTC time to the second plus a hex suffix', () => {
    expect(newRunId(new Date('2026-11-24T07:15:02.999Z'))).toMatch(/^20261124-071502-[0-9a-f]{4}$/);
  });

  it('sorts by time', () => {
    const earlier = newRunId(new Date('2026-11-24T07:15:02Z'));
    const later = newRunId(new Date('2026-11-24T07:15:03Z'));
    const nextDay = newRunId(new Date('2026-11-25T00:00:00Z'));
    expect([nextDay, later, earlier].sort()).toEqual([earlier, later, nextDay]);
  });

  it('never repeats within one second in a process', () => {
    const now = new Date('2026-11-24T07:15:02Z');
    const ids = Array.from({ length: 2000 }, () => newRunId(now));
    expect(new Set(ids).size).toBe(2000);
  });

  it('is a valid run id for statePaths', () => {
    expect(() => statePaths('/repo').trace('x', newRunId())).not.toThrow();
  });
});

describe('ensureStateGitignore', () => {
  it('writes the scratch patterns once', async () => {
    await ensureStateGitignore(tmp.path);
    await ensureStateGitignore(tmp.path);
    expect(await readFile(path.join(tmp.path, '.gitignore'), 'utf8')).toBe('.lock\n.lock.pid\n.lock.takeover\n*.tmp\nloops.sock\nowner-socket.json\n');
    expect(await readdir(tmp.path)).toEqual(['.gitignore']);
  });

  it('keeps what a person wrote and adds only what is missing', async () => {
    const file = path.join(tmp.path, '.gitignore');
    await writeFile(file, '# mine\nscratch/\n*.tmp');
    await ensureStateGitignore(tmp.path);
    expect(await readFile(file, 'utf8')).toBe('# mine\nscratch/\n*.tmp\n.lock\n.lock.pid\n.lock.takeover\nloops.sock\nowner-socket.json\n');
  });

  it('creates the state folder when it does not exist yet', async () => {
    const root = path.join(tmp.path, 'repo', 'state');
    await ensureStateGitignore(root);
    expect(await readFile(path.join(root, '.gitignore'), 'utf8')).toContain('.lock.pid\n');
  });
});
