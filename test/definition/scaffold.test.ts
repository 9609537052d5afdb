import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { scaffoldLoop, ScaffoldError } from '../../src/core/definition/scaffold.js';
import { PROVIDERS } from '../../src/core/definition/schema.js';
import { tempRepo } from './helpers.js';

describe('scaffoldLoop', () => {
  it('writes LOOP.md, SKILL.md and RUBRIC.md that load without problems', async () => {
    const root = await tempRepo();
    const created = await scaffoldLoop(root, 'fix-tests');
    expect(created).toEqual([
      'loops/fix-tests/LOOP.md',
      'loops/fix-tests/SKILL.md',
      'loops/fix-tests/RUBRIC.md',
    ]);

    const result = await loadLoop(root, 'fix-tests');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const def = result.definition;
    expect(def.agent.provider).toBe('anthropic');
    expect(def.model).toBe('claude-sonnet-4-6');
    expect(def.verify).toEqual([{ command: 'npm test', holdout: false, protect: [], timeout: 600 }]);
    expect(def.budget).toMatchObject({ iterations: 10, usd: 2, minutes: 30 });
    expect(def.stall).toEqual({ window: 3, on_stall: 'pause', pause_timeout_minutes: 60 });
    expect(def.description).not.toBe('');
    expect(def.task).toContain('MEMORY.md');
    expect(def.task).toContain('one thing per iteration');
    expect(def.skills.map((skill) => [skill.name, skill.path])).toEqual([
      ['fix-tests', 'loops/fix-tests/SKILL.md'],
    ]);
    expect(def.rubric?.criteria).toHaveLength(3);
  });

  it.each(PROVIDERS.filter((provider) => provider !== 'scripted'))(
    'scaffolds a loop for %s that loads',
    async (provider) => {
      const root = await tempRepo();
      await scaffoldLoop(root, 'nightly', { provider });
      const result = await loadLoop(root, 'nightly');
      if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
      expect(result.definition.agent.provider).toBe(provider);
    },
  );

  it('writes the SCRIPT.yaml a scripted loop needs', async () => {
    const root = await tempRepo();
    const created = await scaffoldLoop(root, 'demo-loop', { provider: 'scripted' });
    expect(created).toContain('loops/demo-loop/SCRIPT.yaml');
    expect(await readFile(path.join(root, 'loops/demo-loop/SCRIPT.yaml'), 'utf8')).toBe(
      'turns:\n  - text: "Nothing to do yet: edit SCRIPT.yaml to script this loop."\n',
    );
    const result = await loadLoop(root, 'demo-loop');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.definition.model).toBe('scripted');
  });

  it.each(['Fix-Tests', 'fix_tests', '-x', 'a--b', '../escape', ''])('refuses the name %j', async (name) => {
    const root = await tempRepo();
    await expect(scaffoldLoop(root, name)).rejects.toThrow(ScaffoldError);
  });

  it('refuses a folder that already exists and leaves it alone', async () => {
    const root = await tempRepo();
    await mkdir(path.join(root, 'loops', 'fix-tests'), { recursive: true });
    await expect(scaffoldLoop(root, 'fix-tests')).rejects.toThrow(/already exists/);
    await expect(readFile(path.join(root, 'loops/fix-tests/LOOP.md'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
