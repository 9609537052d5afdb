import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../tools/temp-dir.js';

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

/** git in `cwd` for test setup and inspection; throws on failure. */
export function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...IDENTITY },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A repository on branch main with one commit holding README.md. */
export async function makeRepo(): Promise<{ repo: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir('repo');
  sh(dir, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(path.join(dir, 'README.md'), 'hello\n');
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '--quiet', '-m', 'initial');
  return { repo: dir, cleanup };
}
