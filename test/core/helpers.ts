/** A real git repository made from the demo project, with loops written by the test. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoRepo } from '../../src/demo/setup.js';
import { execa } from 'execa';

export interface TestRepo {
  dir: string;
  cleanup(): Promise<void>;
  /** Writes loops/NAME/LOOP.md (and SCRIPT.yaml when given) and commits them. */
  addLoop(name: string, loopMd: string, script?: string): Promise<void>;
  git(...args: string[]): Promise<string>;
}

export async function makeRepo(): Promise<TestRepo> {
  const parent = await mkdtemp(join(tmpdir(), 'loops-test-'));
  const dir = await createDemoRepo(parent);
  const git = async (...args: string[]): Promise<string> =>
    (await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir })).stdout;
  return {
    dir,
    git,
    cleanup: () => rm(parent, { recursive: true, force: true }),
    async addLoop(name, loopMd, script) {
      await mkdir(join(dir, 'loops', name), { recursive: true });
      await writeFile(join(dir, 'loops', name, 'LOOP.md'), loopMd);
      if (script !== undefined) await writeFile(join(dir, 'loops', name, 'SCRIPT.yaml'), script);
      await git('add', '-A');
      await git('commit', '-q', '-m', `add loop ${name}`);
    },
  };
}
