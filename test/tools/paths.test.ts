import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PathRefusedError, resolveInWorktree } from '../../src/tools/paths.js';
import { tempDir } from './temp-dir.js';

let root: string;
let worktree: string;
let outside: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir('paths'));
  worktree = path.join(root, 'wt');
  outside = path.join(root, 'outside');
  await mkdir(path.join(worktree, 'src'), { recursive: true });
  await mkdir(path.join(worktree, '.git'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(worktree, 'src', 'a.ts'), 'a');
  await writeFile(path.join(outside, 'secret.txt'), 'secret');
});
afterEach(() => cleanup());

async function refusal(p: string, intent: 'read' | 'write', globs?: string[]): Promise<PathRefusedError> {
  const error: unknown = await resolveInWorktree(worktree, p, intent, globs).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PathRefusedError);
  return error as PathRefusedError;
}

describe('resolveInWorktree', () => {
  it('resolves relative paths from the worktree root, existing or not', async () => {
    expect(await resolveInWorktree(worktree, 'src/a.ts', 'read')).toBe(path.join(worktree, 'src', 'a.ts'));
    expect(await resolveInWorktree(worktree, 'new/dir/b.ts', 'write')).toBe(
      path.join(worktree, 'new', 'dir', 'b.ts'),
    );
    expect(await resolveInWorktree(worktree, 'src/../src/a.ts', 'read')).toBe(
      path.join(worktree, 'src', 'a.ts'),
    );
  });

  it('allows absolute paths inside the worktree', async () => {
    const abs = path.join(worktree, 'src', 'a.ts');
    expect(await resolveInWorktree(worktree, abs, 'write')).toBe(abs);
  });

  it('refuses .. out of the worktree', async () => {
    const error = await refusal('../outside/secret.txt', 'read');
    expect(error.message).toBe(
      'refused: ../outside/secret.txt resolves outside the worktree; use a path inside it (relative paths start at its root)',
    );
    expect(error.reason).toBe('outside');
    await refusal('src/../../outside/new.txt', 'write');
  });

  it('refuses absolute paths outside the worktree', async () => {
    const error = await refusal(path.join(outside, 'secret.txt'), 'read');
    expect(error.message).toContain('resolves outside the worktree');
    await refusal('/etc/passwd', 'read');
  });

  it('refuses a symlinked file that points outside, for reading and writing', async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(worktree, 'link.txt'));
    await refusal('link.txt', 'read');
    await refusal('link.txt', 'write');
  });

  it('refuses paths through a symlinked directory that points outside, existing or not', async () => {
    await symlink(outside, path.join(worktree, 'linkdir'));
    await refusal('linkdir/secret.txt', 'read');
    await refusal('linkdir/new/file.txt', 'write');
    await refusal('linkdir', 'read');
  });

  it('refuses a dangling symlink whose target would be created outside', async () => {
    await symlink(path.join(outside, 'not-yet.txt'), path.join(worktree, 'dangling.txt'));
    await refusal('dangling.txt', 'write');
  });

  it('allows a symlink that stays inside the worktree', async () => {
    await symlink(path.join(worktree, 'src'), path.join(worktree, 'alias'));
    expect(await resolveInWorktree(worktree, 'alias/a.ts', 'read')).toBe(path.join(worktree, 'src', 'a.ts'));
  });

  it('refuses writes into .git but allows reading it', async () => {
    const error = await refusal('.git/config', 'write');
    expect(error.reason).toBe('git');
    expect(error.message).toContain('is inside .git');
    await refusal('src/../.git/hooks/pre-commit', 'write');
    await refusal('.git', 'write');
    await refusal('.GIT/config', 'write');
    expect(await resolveInWorktree(worktree, '.git/config', 'read')).toBe(
      path.join(worktree, '.git', 'config'),
    );
  });

  it('refuses writes to protected paths, also through an alias, and allows reading them', async () => {
    await mkdir(path.join(worktree, 'test'));
    await writeFile(path.join(worktree, 'test', 'grader.test.ts'), 'x');
    const error = await refusal('test/grader.test.ts', 'write', ['test/**']);
    expect(error.reason).toBe('protected');
    expect(error.message).toContain('belongs to a grader');
    await symlink(path.join(worktree, 'test', 'grader.test.ts'), path.join(worktree, 'alias.ts'));
    await refusal('alias.ts', 'write', ['test/**']);
    await refusal('bench.js', 'write', ['bench.js']);
    expect(await resolveInWorktree(worktree, 'test/grader.test.ts', 'read', ['test/**'])).toBe(
      path.join(worktree, 'test', 'grader.test.ts'),
    );
    expect(await resolveInWorktree(worktree, 'src/a.ts', 'write', ['test/**'])).toBe(
      path.join(worktree, 'src', 'a.ts'),
    );
  });

  it("refuses reading and writing loops' own state/ and .loops/, however the path is spelled", async () => {
    await mkdir(path.join(worktree, 'state', 'fix', 'runs'), { recursive: true });
    await writeFile(path.join(worktree, 'state', 'fix', 'runs', 'r1.md'), 'holdout findings');
    await mkdir(path.join(worktree, '.loops'));
    for (const intent of ['read', 'write'] as const) {
      const error = await refusal('state/fix/runs/r1.md', intent);
      expect(error.reason).toBe('loops');
      expect(error.message).toBe(
        "refused: state/fix/runs/r1.md: state/ is loops' own record and is not part of the task",
      );
      await refusal('state', intent);
      await refusal('./src/../state/fix/runs/r1.md', intent);
      await refusal(path.join(worktree, 'state', 'new.md'), intent);
      await refusal('STATE/fix/runs/r1.md', intent);
      const own = await refusal('.loops/worktrees/x', intent);
      expect(own.message).toBe(
        "refused: .loops/worktrees/x: .loops/ holds loops' own worktrees and is not part of the task",
      );
    }
  });

  it('refuses state/ through a symlink too, and allows a folder named state deeper down', async () => {
    await mkdir(path.join(worktree, 'state'));
    await writeFile(path.join(worktree, 'state', 'x.md'), 'x');
    await symlink(path.join(worktree, 'state'), path.join(worktree, 'src', 'mirror'));
    expect((await refusal('src/mirror/x.md', 'read')).reason).toBe('loops');
    expect(await resolveInWorktree(worktree, 'src/state/store.ts', 'write')).toBe(
      path.join(worktree, 'src', 'state', 'store.ts'),
    );
    expect(await resolveInWorktree(worktree, 'statement.md', 'read')).toBe(
      path.join(worktree, 'statement.md'),
    );
  });

  it('does not mistake a name starting with two dots for a parent directory', async () => {
    expect(await resolveInWorktree(worktree, '..notes.md', 'write')).toBe(path.join(worktree, '..notes.md'));
  });
});
