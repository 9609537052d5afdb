/**
 * The offline demo's throwaway repository: the small project in demo/project with failing tests,
 * the example loops from loops/, committed once, so runs get real worktrees and real graders.
 */
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The installed package's root (two levels up from dist/demo/ or src/demo/). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function createDemoRepo(parent = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(parent, 'loops-demo-'));
  await cp(join(PACKAGE_ROOT, 'demo', 'project'), dir, { recursive: true });
  await cp(join(PACKAGE_ROOT, 'loops'), join(dir, 'loops'), { recursive: true });
  const git = (...args: string[]): Promise<unknown> =>
    execa('git', ['-c', 'user.name=loops demo', '-c', 'user.email=demo@loops.invalid', ...args], {
      cwd: dir,
    });
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '-A');
  await git('commit', '--quiet', '-m', 'demo-shop: a cart with two failing tests');
  return dir;
}
