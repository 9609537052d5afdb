/**
 * The README's own-repository commands on a clean machine: loops packed from a copy of this checkout
 * (no dist/: packing must build it through `prepare`, as an install from git does), installed into a
 * fresh project with an empty HOME, then used in a fresh git repository exactly as the README shows.
 * Packages come from npm's cache of this machine (CI's `npm ci` fills it), so no network is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let scratch: string;
let bin: string;
let home: string;

async function npmCache(): Promise<string> {
  return (await execa('npm', ['config', 'get', 'cache'], { cwd: ROOT })).stdout.trim();
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'loops-install-'));
  home = join(scratch, 'home');
  await mkdir(home);
  // A copy of the sources as git has them (committed or not), without dist/ or node_modules/.
  const src = join(scratch, 'src');
  const files = (await execa('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT })).stdout
    .split('\n')
    .filter((f) => f && existsSync(join(ROOT, f)));
  for (const file of files) {
    await mkdir(dirname(join(src, file)), { recursive: true });
    await cp(join(ROOT, file), join(src, file));
  }
  expect(existsSync(join(src, 'dist'))).toBe(false);
  // The build tools of this checkout stand in for the clone's `npm install`.
  await symlink(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  const cache = await npmCache();
  const env = { ...process.env, HOME: home, npm_config_cache: cache, npm_config_update_notifier: 'false' };
  const packed = await execa('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: src, env });
  const tarball = join(scratch, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);

  const project = join(scratch, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{"name":"project","private":true}');
  await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: project,
    env,
  });
  bin = join(project, 'node_modules', '.bin', 'loops');
}, 300_000);

afterAll(() => rm(scratch, { recursive: true, force: true }));

function loops(args: string[], cwd: string) {
  return execa(bin, args, {
    cwd,
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: scratch, LANG: 'C.UTF-8' },
    stdin: 'ignore',
  });
}

describe('installed from a packed tarball into a fresh project', () => {
  it('is named so it collides with nothing, and its command is loops', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.name).toBe('loops-supervisor');
    expect(Object.keys(pkg.bin)).toEqual(['loops']);
    expect(pkg.scripts.prepare).toBeDefined();
    const version = await loops(['--version'], scratch);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('sets up a fresh repository with the README commands: init, new, validate, list', async () => {
    const repo = join(scratch, 'my-repo');
    await execa('git', ['init', '-q', repo]);
    const init = await loops(['init'], repo);
    expect(init.exitCode).toBe(0);
    expect(init.stdout).toContain('created loops/fix-tests/LOOP.md');
    const created = await loops(['new', 'docs-check'], repo);
    expect(created.exitCode).toBe(0);
    const validate = await loops(['validate'], repo);
    expect(validate.stdout).toContain('docs-check');
    expect(validate.exitCode).toBe(0);
    const list = await loops(['list'], repo);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain('fix-tests');
    expect(list.stdout).toContain('docs-check');
  });

  it('writes the GitHub workflow with init --github', async () => {
    const repo = join(scratch, 'ci-repo');
    await execa('git', ['init', '-q', repo]);
    const init = await loops(['init', '--github'], repo);
    expect(init.exitCode).toBe(0);
    const workflow = await readFile(join(repo, '.github', 'workflows', 'loops.yml'), 'utf8');
    expect(workflow).toContain('workflow_dispatch');
    expect(workflow).toMatch(/run "\$\{\{ matrix.loop \}\}" --json/);
    expect(workflow).toContain('fix-tests');
  });

  it('runs the offline demo end to end from the installed package: real worktrees, graders, outcomes', async () => {
    const demo = await loops(['demo', '--headless'], scratch);
    expect(demo.stdout).toMatch(/^fix-tests: verified: /m);
    expect(demo.stdout).toMatch(/^add-changelog: verified: /m);
    expect(demo.stdout).toMatch(/^tidy-comments: budget: /m);
    expect(demo.exitCode).toBe(0);
  }, 120_000);
});
