import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { protectedPaths, restoreProtected } from '../../src/core/verify/protect.js';
import {
  commandScripts,
  packageScripts,
  RUNNER_CONFIGS,
  shellCommands,
  shellWords,
} from '../../src/core/verify/grader-inputs.js';
import { resolveInWorktree } from '../../src/tools/paths.js';
import { tempDir } from '../tools/temp-dir.js';
import { gitProcessCount } from '../../src/workspace/git.js';
import { Worktrees, type Worktree } from '../../src/workspace/worktrees.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { Supervisor } from '../../src/core/supervisor.js';
import { readTrace } from '../../src/state/trace.js';
import { sh } from '../workspace/git-repo.js';
import { gradeContext, testDefinition } from './context.js';
import type { LoopEventBody } from '../../src/core/events.js';
import { createEmitter } from '../../src/core/run/emitter.js';
import { RunControl } from '../../src/core/run/control.js';
import { ErrorTracker } from '../../src/core/verify/error-tracker.js';
import { gradeIteration } from '../../src/core/verify/grade-iteration.js';
import { createGraders } from '../../src/core/verify/index.js';
import { RegressionTracker } from '../../src/core/verify/regressions.js';
import { repoWithWorktree } from './worktree.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('protect'));
  await mkdir(path.join(dir, 'scripts'), { recursive: true });
  await mkdir(path.join(dir, 'test'), { recursive: true });
  for (const file of ['scripts/check.js', 'bench.py', 'vitest.config.ts', 'scripts/lint.sh']) {
    await writeFile(path.join(dir, file), '');
  }
});
afterEach(() => cleanup());

describe('shellWords', () => {
  it('splits on spaces and shell operators, removing quotes', () => {
    expect(shellWords(`node "scripts/my check.js" --x='a b' && echo ok|wc -l > out.txt`)).toEqual([
      'node',
      'scripts/my check.js',
      '--x=a b',
      'echo',
      'ok',
      'wc',
      '-l',
      'out.txt',
    ]);
  });

  it('keeps the commands of a command line apart', () => {
    expect(shellCommands('npm ci && CI=1 npm test; (cd web || exit 1)\nyarn lint | tee x')).toEqual([
      ['npm', 'ci'],
      ['CI=1', 'npm', 'test'],
      ['cd', 'web'],
      ['exit', '1'],
      ['yarn', 'lint'],
      ['tee', 'x'],
    ]);
  });
});

describe('packageScripts', () => {
  it('names the package scripts npm, pnpm, yarn and bun commands run', () => {
    const cases: Array<[string, string[]]> = [
      ['npm test', ['test']],
      ['npm t -- --coverage', ['test']],
      ['npm --silent run lint:ci', ['lint:ci']],
      ['npm run-script check', ['check']],
      ['npm start', ['start']],
      ['npm --prefix web test', ['test']],
      ['npm ci && CI=1 npm test', ['test']],
      ['env CI=1 npm run unit > out.txt', ['unit']],
      ['pnpm test', ['test']],
      ['pnpm run e2e', ['e2e']],
      ['pnpm typecheck', ['typecheck']],
      ['pnpm test.unit', ['test.unit']],
      ['yarn test', ['test']],
      ['yarn build && yarn test', ['build', 'test']],
      ['bun run bench', ['bench']],
      ['bun check', ['check']],
      ['run-s lint test:unit', ['lint', 'test:unit']],
    ];
    for (const [command, scripts] of cases) expect(packageScripts(command), command).toEqual(scripts);
  });

  it('names nothing for commands that run no package script', () => {
    for (const command of [
      'node --test',
      'npx vitest run',
      'npm ci',
      'npm run',
      'yarn install',
      'pnpm exec jest',
      'bun test',
      'bun run scripts/bench.ts',
      'python3 -m pytest',
    ]) {
      expect(packageScripts(command), command).toEqual([]);
    }
  });
});

describe('commandScripts', () => {
  it('finds the files a command names: scripts, option values, relative paths', async () => {
    expect(await commandScripts('node scripts/check.js --strict', dir)).toEqual(['scripts/check.js']);
    expect(await commandScripts('python3 ./bench.py', dir)).toEqual(['bench.py']);
    expect(await commandScripts('npx vitest run --config=vitest.config.ts', dir)).toEqual([
      'vitest.config.ts',
    ]);
    expect(await commandScripts('sh scripts/lint.sh && node scripts/check.js', dir)).toEqual([
      'scripts/lint.sh',
      'scripts/check.js',
    ]);
  });

  it('finds nothing in a command that names no file of the repository', async () => {
    expect(await commandScripts('npm test', dir)).toEqual([]);
    expect(await commandScripts('node --test test/', dir)).toEqual([]); // a folder, not a script
    expect(await commandScripts('node ../outside.js /etc/passwd missing.js scripts/*.js', dir)).toEqual([]);
  });
});

describe('protectedPaths', () => {
  it('holds LOOP.md, RUBRIC.md, named rubrics, protect globs and the graders scripts', async () => {
    const def = testDefinition(
      { rubric: { path: 'loops/test-loop/RUBRIC.md', criteria: [{ name: 'a', text: 'a' }] } },
      {
        verify: [
          { command: 'node scripts/check.js', protect: ['test/**'] },
          { metric: { command: 'python3 bench.py', pattern: 'x=(\\d+)' } },
          { rubric: 'rubrics/STYLE.md' },
        ],
      },
    );
    expect((await protectedPaths(def, dir)).sort()).toEqual(
      [
        'loops/test-loop/LOOP.md',
        'loops/test-loop/RUBRIC.md',
        'state/**',
        '.loops/**',
        'test/**',
        'scripts/check.js',
        'bench.py',
        'loops/test-loop/rubrics/STYLE.md',
      ].sort(),
    );
  });

  it('guards the package scripts a grader runs, one level down, the runner configs and the files they name', async () => {
    await mkdir(path.join(dir, 'config'));
    await writeFile(path.join(dir, 'config', 'vt.ts'), '');
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({
        scripts: {
          test: 'npm run unit && node scripts/check.js',
          unit: 'vitest run --config config/vt.ts',
          pretest: 'sh scripts/lint.sh',
          deploy: 'node scripts/deploy.js',
        },
      }),
    );
    const def = testDefinition({}, { verify: [{ command: 'npm test' }] });
    const paths = await protectedPaths(def, dir);
    expect(paths).toEqual(expect.arrayContaining([...RUNNER_CONFIGS]));
    expect(paths).toEqual(expect.arrayContaining(['vitest.config.*', 'jest.config.*', '.mocharc*']));
    const entries = paths.filter((p) => p.startsWith('package.json#')).sort();
    expect(entries).toEqual(
      [
        'package.json#ava',
        'package.json#jest',
        'package.json#mocha',
        'package.json#scripts.pretest',
        'package.json#scripts.test',
        'package.json#scripts.posttest',
        'package.json#scripts.preunit',
        'package.json#scripts.unit',
        'package.json#scripts.postunit',
      ].sort(),
    );
    expect(paths).toEqual(expect.arrayContaining(['scripts/check.js', 'scripts/lint.sh', 'config/vt.ts']));
    expect(paths).not.toContain('package.json');
    expect(paths.some((p) => p.includes('deploy'))).toBe(false);

    // package.json stays writable (dependencies are work); the runner configs do not, even new ones.
    await expect(resolveInWorktree(dir, 'package.json', 'write', paths)).resolves.toBe(
      path.join(dir, 'package.json'),
    );
    for (const p of ['vitest.config.ts', 'vitest.config.mts', 'jest.config.js', '.mocharc.yml', '.npmrc']) {
      await expect(resolveInWorktree(dir, p, 'write', paths)).rejects.toThrow(/belongs to a grader/);
    }
  });

  it('protects the runner configs for a runner started directly, and nothing of the kind for node --test', async () => {
    const direct = await protectedPaths(testDefinition({}, { verify: [{ command: 'npx vitest run' }] }), dir);
    expect(direct).toEqual(expect.arrayContaining(['vitest.config.*', 'package.json#jest']));
    expect(direct.some((p) => p.startsWith('package.json#scripts.'))).toBe(false);
    const plain = await protectedPaths(testDefinition({}, { verify: [{ command: 'node --test' }] }), dir);
    expect(plain.some((p) => p.includes('config') || p.startsWith('package.json'))).toBe(false);
  });

  it('makes the tool layer refuse writes to them and allow the rest', async () => {
    const def = testDefinition({}, { verify: [{ command: 'node scripts/check.js', protect: ['test/**'] }] });
    const globs = await protectedPaths(def, dir);
    for (const p of [
      'loops/test-loop/RUBRIC.md',
      'test/a.test.js',
      'scripts/check.js',
      './scripts/../scripts/check.js',
    ]) {
      await expect(resolveInWorktree(dir, p, 'write', globs)).rejects.toThrow(/belongs to a grader/);
    }
    await expect(resolveInWorktree(dir, 'src/cart.js', 'write', globs)).resolves.toBe(
      path.join(dir, 'src/cart.js'),
    );
    await expect(resolveInWorktree(dir, 'scripts/check.js', 'read', globs)).resolves.toBeDefined();
  });
});

describe('restoreProtected', () => {
  const withRepo = async (
    fn: (s: Awaited<ReturnType<typeof repoWithWorktree>>) => Promise<void>,
  ): Promise<void> => {
    const setup = await repoWithWorktree();
    try {
      await fn(setup);
    } finally {
      await setup.repo.cleanup();
    }
  };

  it("puts back the package scripts a grader runs, keeping the agent's other package.json edits and its style", async () => {
    await withRepo(async ({ worktrees, tree }) => {
      const file = path.join(tree.path, 'package.json');
      const base = JSON.parse(await readFile(file, 'utf8')) as { scripts: Record<string, string> };
      expect(base.scripts.test).toBe('node --test');
      const edited = {
        ...base,
        scripts: { ...base.scripts, test: 'exit 0', pretest: 'rm -rf test', lint: 'eslint .' },
        dependencies: { 'left-pad': '1.3.0' },
      };
      // The agent's rewrite uses tabs and CRLF: the restored file keeps them.
      await writeFile(file, JSON.stringify(edited, null, '\t').replace(/\n/g, '\r\n') + '\r\n');

      const globs = await protectedPaths(
        testDefinition({}, { verify: [{ command: 'npm test' }] }),
        tree.path,
      );
      const restored = await restoreProtected(worktrees, tree.path, tree.baseSha, globs);
      expect(restored.sort()).toEqual(['package.json#scripts.pretest', 'package.json#scripts.test']);
      const text = await readFile(file, 'utf8');
      const after = JSON.parse(text) as typeof edited;
      expect(after.scripts).toEqual({ ...base.scripts, lint: 'eslint .' });
      expect(after.dependencies).toEqual({ 'left-pad': '1.3.0' });
      expect(text).toContain('\r\n\t"scripts": {\r\n\t\t"test": "node --test",');
      expect(text.endsWith('}\r\n')).toBe(true);

      // Nothing left to put back: the file is not touched again.
      expect(await restoreProtected(worktrees, tree.path, tree.baseSha, globs)).toEqual([]);
      expect(await readFile(file, 'utf8')).toBe(text);
    });
  });

  it('puts back a runner config the agent added or changed, and anything written under state/', async () => {
    await withRepo(async ({ worktrees, tree }) => {
      await writeFile(
        path.join(tree.path, 'vitest.config.ts'),
        'export default { test: { include: [] } };\n',
      );
      await mkdir(path.join(tree.path, 'state', 'test-loop', 'runs'), { recursive: true });
      await writeFile(path.join(tree.path, 'state', 'test-loop', 'runs', 'r0.md'), 'verified\n');
      await writeFile(path.join(tree.path, 'src', 'new.js'), 'export {};\n');
      const globs = await protectedPaths(
        testDefinition({}, { verify: [{ command: 'yarn test' }] }),
        tree.path,
      );
      const restored = await restoreProtected(worktrees, tree.path, tree.baseSha, globs);
      expect(restored.sort()).toEqual(['state/test-loop/runs/r0.md', 'vitest.config.ts']);
      expect(await worktrees.changedFiles(tree.path, tree.baseSha)).toEqual(['src/new.js']);
    });
  });

  it('leaves a package.json that is not JSON alone: the package manager refuses it by itself', async () => {
    await withRepo(async ({ worktrees, tree }) => {
      const file = path.join(tree.path, 'package.json');
      await writeFile(file, '{ "scripts": { "test": "exit 0" ');
      const globs = await protectedPaths(
        testDefinition({}, { verify: [{ command: 'npm test' }] }),
        tree.path,
      );
      expect(await restoreProtected(worktrees, tree.path, tree.baseSha, globs)).toEqual([]);
      expect(await readFile(file, 'utf8')).toBe('{ "scripts": { "test": "exit 0" ');
    });
  });
});

/**
 * Tricks that hide a changed grader from git: each must still be caught, the file put back from
 * the base, and the grader then fail, as it does before the work is done.
 */
describe('restoreProtected against hidden changes', () => {
  const GRADER = 'test "$(cat src/value.txt)" = done\n';
  let setup: { repo: TestRepo; worktrees: Worktrees; tree: Worktree; outside: string };

  beforeEach(async () => {
    const repo = await makeRepo();
    await mkdir(path.join(repo.dir, 'check'), { recursive: true });
    await mkdir(path.join(repo.dir, 'src'), { recursive: true });
    await writeFile(path.join(repo.dir, 'check', 'grader.sh'), GRADER);
    await writeFile(path.join(repo.dir, 'src', 'value.txt'), 'not yet\n');
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'a grader');
    const worktrees = await Worktrees.open(repo.dir);
    const tree = await worktrees.create({ loop: 'test-loop', run: 'r1', base: 'HEAD' });
    const outside = path.join(repo.dir, '..', 'outside');
    await mkdir(outside, { recursive: true });
    setup = { repo, worktrees, tree, outside };
  });
  afterEach(() => setup.repo.cleanup());

  const globs = ['check/**'];
  const grader = (): string => path.join(setup.tree.path, 'check', 'grader.sh');
  /** The agent's shell, in its worktree. */
  const agent = (script: string): string =>
    execFileSync('sh', ['-c', script], {
      cwd: setup.tree.path,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'a',
        GIT_AUTHOR_EMAIL: 'a@a',
        GIT_COMMITTER_NAME: 'a',
        GIT_COMMITTER_EMAIL: 'a@a',
      },
    }).trim();
  const gradePasses = (): boolean => {
    try {
      execFileSync('sh', ['check/grader.sh'], { cwd: setup.tree.path, stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  /** The iteration's commit, the check before grading, and the commit after restoring. */
  const iteration = async (): Promise<string[]> => {
    await setup.worktrees.commitAll(setup.tree.path, 'iteration');
    const restored = await restoreProtected(setup.worktrees, setup.tree.path, setup.tree.baseSha, globs);
    await setup.worktrees.commitAll(setup.tree.path, 'restored');
    return restored;
  };
  const expectGraderAsInBase = async (): Promise<void> => {
    expect(await readFile(grader(), 'utf8')).toBe(GRADER);
    expect(gradePasses()).toBe(false);
    // The run's branch holds the base's grader too, whatever the index says.
    expect(sh(setup.repo.dir, 'show', `${setup.tree.branch}:check/grader.sh`)).toBe(GRADER);
  };

  it('catches a change hidden with git update-index --assume-unchanged', async () => {
    agent('echo "exit 0" > check/grader.sh && git update-index --assume-unchanged check/grader.sh');
    expect(agent('git status --porcelain')).toBe('');
    expect(gradePasses()).toBe(true);
    expect(await iteration()).toEqual(['check/grader.sh']);
    await expectGraderAsInBase();
  });

  it('catches a change hidden with git update-index --skip-worktree', async () => {
    agent('echo "exit 0" > check/grader.sh && git update-index --skip-worktree check/grader.sh');
    expect(agent('git status --porcelain')).toBe('');
    expect(await iteration()).toEqual(['check/grader.sh']);
    await expectGraderAsInBase();
  });

  it('catches both flags on a v4 index, and a deleted grader hidden by skip-worktree', async () => {
    agent(
      'git update-index --index-version 4 && rm check/grader.sh && git update-index --skip-worktree check/grader.sh ' +
        '&& git update-index --assume-unchanged src/value.txt',
    );
    expect(agent('git status --porcelain')).toBe('');
    expect(await iteration()).toEqual(['check/grader.sh']);
    await expectGraderAsInBase();
  });

  it('catches git replace of the blob, and deletes the replace ref from the shared repository', async () => {
    const blob = agent('git rev-parse HEAD:check/grader.sh');
    const fake = agent('echo "exit 0" | git hash-object -w --stdin');
    agent(`git replace ${blob} ${fake} && echo "exit 0" > check/grader.sh`);
    // With the replace ref, git shows the fake as the base's content.
    expect(agent(`git cat-file -p ${blob}`)).toBe('exit 0');
    const restored = await iteration();
    expect(restored).toEqual(['check/grader.sh', `refs/replace/${blob} (a git replace ref, deleted)`]);
    expect(sh(setup.repo.dir, 'for-each-ref', 'refs/replace')).toBe('');
    await expectGraderAsInBase();
  });

  it('catches git replace of the base commit itself', async () => {
    agent(
      'echo "exit 0" > check/grader.sh && git add -A && git commit -qm fake && ' +
        `git replace ${setup.tree.baseSha} HEAD`,
    );
    const restored = await iteration();
    expect(restored).toContain('check/grader.sh');
    expect(restored).toContain(`refs/replace/${setup.tree.baseSha} (a git replace ref, deleted)`);
    await expectGraderAsInBase();
  });

  it('replaces a grader turned into a symlink to outside, and writes nothing there', async () => {
    await writeFile(path.join(setup.outside, 'fake.sh'), 'exit 0\n');
    agent(`rm check/grader.sh && ln -s "${setup.outside}/fake.sh" check/grader.sh`);
    expect(await iteration()).toEqual(['check/grader.sh']);
    expect((await lstat(grader())).isSymbolicLink()).toBe(false);
    expect(await readFile(path.join(setup.outside, 'fake.sh'), 'utf8')).toBe('exit 0\n');
    await expectGraderAsInBase();
  });

  it("replaces the grader's folder turned into a symlink to outside, and writes nothing there", async () => {
    await writeFile(path.join(setup.outside, 'grader.sh'), 'exit 0\n');
    agent(`rm -r check && ln -s "${setup.outside}" check`);
    // The symlink is not in the base (removed), the grader is (put back, in a real folder).
    expect(await iteration()).toEqual(['check', 'check/grader.sh']);
    expect((await lstat(path.join(setup.tree.path, 'check'))).isDirectory()).toBe(true);
    expect(await readFile(path.join(setup.outside, 'grader.sh'), 'utf8')).toBe('exit 0\n');
    await expectGraderAsInBase();
  });

  it('restores a hard-linked grader without writing through the other link', async () => {
    agent(`ln check/grader.sh "${setup.outside}/linked.sh" && echo "exit 0" > check/grader.sh`);
    expect(await iteration()).toEqual(['check/grader.sh']);
    expect(await readFile(path.join(setup.outside, 'linked.sh'), 'utf8')).toBe('exit 0\n');
    await expectGraderAsInBase();
  });

  it('deletes a protected file the agent added and hid with .gitignore, and puts back the exec bit', async () => {
    await chmod(grader(), 0o755);
    agent('git add -A && git commit -qm x');
    const baseSha = agent('git rev-parse HEAD');
    agent(
      'echo "check/extra.sh" >> .gitignore && echo "exit 0" > check/extra.sh && chmod -x check/grader.sh',
    );
    const restored = await restoreProtected(setup.worktrees, setup.tree.path, baseSha, globs);
    expect(restored.sort()).toEqual(['check/extra.sh', 'check/grader.sh']);
    expect((await stat(grader())).mode & 0o111).not.toBe(0);
    await expect(lstat(path.join(setup.tree.path, 'check', 'extra.sh'))).rejects.toThrow();
  });

  it('starts no git process on a later check when nothing changed', async () => {
    expect(await iteration()).toEqual([]);
    const before = gitProcessCount();
    expect(await restoreProtected(setup.worktrees, setup.tree.path, setup.tree.baseSha, globs)).toEqual([]);
    expect(gitProcessCount() - before).toBe(0);
  });
});

describe('grading more than once per iteration', () => {
  it("puts a grader's script back before the next grader when an earlier grader's code rewrote it", async () => {
    const repo = await makeRepo();
    try {
      await mkdir(path.join(repo.dir, 'check'), { recursive: true });
      await writeFile(path.join(repo.dir, 'check', 'second.sh'), 'exit 1\n');
      await repo.git('add', '-A');
      await repo.git('commit', '-q', '-m', 'graders');
      const worktrees = await Worktrees.open(repo.dir);
      const tree = await worktrees.create({ loop: 'test-loop', run: 'r1', base: 'HEAD' });
      // The first grader runs code the agent wrote, which rewrites the second grader's script.
      const def = testDefinition(
        {},
        { verify: [{ command: 'echo "exit 0" > check/second.sh' }, { command: 'sh check/second.sh' }] },
      );
      const globs = await protectedPaths(def, tree.path);
      expect(globs).toContain('check/second.sh');
      const events: LoopEventBody[] = [];
      const emitter = createEmitter('test-loop', 'r1', (event) => events.push(event));
      const tracking = {
        regressions: new RegressionTracker(),
        errors: await ErrorTracker.open(path.join(tree.path, '..', 'errors.json')),
      };
      const ctx = gradeContext(tree.path, {
        baseSha: tree.baseSha,
        definition: def,
        worktrees,
        protectedPaths: globs,
      });
      const result = await gradeIteration(createGraders(def), ctx, emitter, new RunControl(), tracking);
      expect(result.verified).toBe(false);
      expect(result.failed).toEqual(['command: sh check/second.sh']);
      expect(await readFile(path.join(tree.path, 'check', 'second.sh'), 'utf8')).toBe('exit 1\n');
      expect(JSON.stringify(events)).toContain('changed while grading');
    } finally {
      await repo.cleanup();
    }
  });
});

/** Whole runs through the supervisor, the agent's shell hiding a rewritten grader script from git. */
describe('a run whose agent hides a rewritten grader from git', () => {
  const tricks: Array<[string, string]> = [
    [
      'assume-unchanged',
      "echo 'process.exit(0)' > scripts/lint.js && git update-index --assume-unchanged scripts/lint.js",
    ],
    [
      'skip-worktree',
      "echo 'process.exit(0)' > scripts/lint.js && git update-index --skip-worktree scripts/lint.js",
    ],
    [
      'git replace',
      "git replace $(git rev-parse HEAD:scripts/lint.js) $(echo 'process.exit(0)' | git hash-object -w --stdin) && " +
        "echo 'process.exit(0)' > scripts/lint.js",
    ],
  ];
  for (const [trick, command] of tricks) {
    it(`is not verified (${trick}): the script is restored and the change recorded`, async () => {
      const repo = await makeRepo();
      await repo.addLoop(
        'tamper',
        // sandbox: off, so the trick itself succeeds: this is loops' own check, behind the sandbox that
        // would otherwise refuse the agent any write to .git.
        '---\nname: tamper\nagent: { provider: scripted }\nsandbox: off\nverify:\n  - command: node scripts/lint.js\nbudget: { iterations: 1 }\n---\nLint.\n',
        `turns:\n  - tool_calls:\n      - { name: run, input: { command: ${JSON.stringify(command)} } }\n  - text: done\n`,
      );
      const original = await readFile(path.join(repo.dir, 'scripts/lint.js'), 'utf8');
      const supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
      try {
        const result = await supervisor.start('tamper');
        expect(result.outcome).not.toBe('verified');
        expect(await repo.git('show', `${result.branch}:scripts/lint.js`)).toBe(original.trimEnd());
        const events = await readTrace(result.tracePath);
        const restored = events.find((e) => e.type === 'error.recorded' && e.message.includes('restored'));
        expect(restored?.type === 'error.recorded' && restored.message).toContain('scripts/lint.js');
        expect(await repo.git('for-each-ref', 'refs/replace')).toBe('');
      } finally {
        await supervisor.shutdown();
        await repo.cleanup();
      }
    });
  }
});
