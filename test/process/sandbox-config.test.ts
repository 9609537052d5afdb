/**
 * The `sandbox:` setting of LOOP.md, the bubblewrap arguments it becomes, the fixes named when
 * bubblewrap cannot start, and what the agent is told about its confinement.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { buildSystemPrompt } from '../../src/core/run/context.js';
import { bwrapArgs, describeBwrapFailure, type BwrapPolicy } from '../../src/process/bubblewrap.js';
import { seatbeltProfile } from '../../src/process/seatbelt.js';
import { sandboxBanner } from '../../src/demo/sandbox-banner.js';
import type { SandboxProfile } from '../../src/process/sandbox.js';
import { runTool } from '../../src/tools/run.js';
import { testDefinition } from '../verify/context.js';
import { tempDir } from '../tools/temp-dir.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function problemsOf(front: string): Promise<string[]> {
  const made = await tempDir('sandbox-config');
  cleanup = made.cleanup;
  await mkdir(path.join(made.dir, 'loops', 'x'), { recursive: true });
  await writeFile(path.join(made.dir, 'loops', 'x', 'LOOP.md'), `---\nname: x\n${front}\n---\nDo it.\n`);
  const loaded = await loadLoop(made.dir, 'x');
  return loaded.ok ? [] : loaded.problems.map(formatProblem);
}

describe('sandbox: in LOOP.md', () => {
  it('is on with the network off by default', () => {
    expect(testDefinition().sandbox).toEqual({ network: false, env: [] });
  });

  it('accepts off, network: true and env names', async () => {
    expect(await problemsOf('sandbox: off')).toEqual([]);
    expect(await problemsOf('sandbox: { network: true, env: [DATABASE_URL] }')).toEqual([]);
  });

  it('refuses a host list, saying it cannot be enforced, rather than ignoring it', async () => {
    const problems = await problemsOf('sandbox:\n  network: [registry.example, api.example]');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/LOOP\.md:\d+: sandbox\.network: .*list of hosts cannot be enforced/);
  });

  it('refuses an env entry that is not a variable name, and unknown keys', async () => {
    expect((await problemsOf('sandbox: { env: ["A=b"] }')).join('\n')).toMatch(/sandbox\.env/);
    expect((await problemsOf('sandbox: { hosts: [a] }')).join('\n')).toMatch(/hosts/);
    expect((await problemsOf('sandbox: on')).join('\n')).toMatch(/sandbox/);
  });
});

const POLICY: BwrapPolicy = {
  binary: 'bwrap',
  worktree: '/repo/.loops/worktrees/l/r',
  tmpDir: '/tmp/loops-sandbox-x/tmp',
  homeDir: '/tmp/loops-sandbox-x/home',
  home: '/home/u',
  reveal: [],
  hiddenDirs: ['/repo/state', '/repo/.loops'],
  hiddenInWorktree: [],
  holdoutFiles: ['/repo/answers.txt'],
  holdoutDirs: ['/repo/holdout'],
  network: false,
  setupCache: '/home/u/.cache/loops/setup',
};

function args(profile: SandboxProfile, policy: Partial<BwrapPolicy> = {}): string[] {
  return bwrapArgs(
    { ...POLICY, ...policy },
    { file: '/bin/sh', args: ['-c', 'true'], cwd: POLICY.worktree, env: {}, profile },
  );
}

describe('the bubblewrap arguments', () => {
  it('always: own PID namespace, no capabilities, dies with loops, own session, read-only root', () => {
    for (const profile of ['agent', 'grader', 'holdout', 'setup'] as const) {
      const a = args(profile);
      expect(a.slice(0, 3)).toEqual(['--ro-bind', '/', '/']);
      for (const flag of ['--unshare-pid', '--die-with-parent', '--new-session']) expect(a).toContain(flag);
      expect(a.join(' ')).toContain('--cap-drop ALL');
      expect(a.slice(-4)).toEqual(['--', '/bin/sh', '-c', 'true']);
    }
  });

  it('the network is cut unless the loop allows it; setup always has it', () => {
    expect(args('agent')).toContain('--unshare-net');
    expect(args('grader')).toContain('--unshare-net');
    expect(args('agent', { network: true })).not.toContain('--unshare-net');
    expect(args('setup')).not.toContain('--unshare-net');
  });

  it('holdout files are hidden from every profile but holdout', () => {
    for (const profile of ['agent', 'grader', 'setup'] as const) {
      expect(args(profile).join(' ')).toContain('--ro-bind /dev/null /repo/answers.txt');
      expect(args(profile).join(' ')).toContain('--tmpfs /repo/holdout');
    }
    expect(args('holdout').join(' ')).not.toContain('/repo/answers.txt');
    expect(args('holdout').join(' ')).not.toContain('/repo/holdout');
  });

  it('only setup may write the shared cache', () => {
    expect(args('setup').join(' ')).toContain('--bind /home/u/.cache/loops/setup /home/u/.cache/loops/setup');
    expect(args('agent').join(' ')).not.toContain('.cache/loops/setup');
  });

  it('binds the worktree after hiding .loops/, then makes .loops/ read-only, then the gitfile read-only', () => {
    const a = args('agent');
    const at = (...seq: string[]): number => a.findIndex((_, i) => seq.every((s, j) => a[i + j] === s));
    expect(at('--tmpfs', '/repo/.loops')).toBeLessThan(at('--bind', POLICY.worktree, POLICY.worktree));
    expect(at('--bind', POLICY.worktree, POLICY.worktree)).toBeLessThan(at('--remount-ro', '/repo/.loops'));
    const gitfile = `${POLICY.worktree}/.git`;
    expect(at('--ro-bind-try', gitfile, gitfile)).toBeGreaterThan(
      at('--bind', POLICY.worktree, POLICY.worktree),
    );
  });
});

describe('when bubblewrap cannot start', () => {
  it('names the install command when it is missing', () => {
    expect(describeBwrapFailure('bwrap', { missing: true, stderr: '' })).toMatch(
      /not installed; install it with sudo apt-get install bubblewrap.*sandbox: off/,
    );
  });

  it('names the sysctl when user namespaces are off', () => {
    const message = describeBwrapFailure('bwrap', {
      missing: false,
      stderr:
        'bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.',
    });
    expect(message).toContain('No permissions to create new namespace');
    expect(message).toContain('sysctl -w kernel.unprivileged_userns_clone=1');
    expect(message).toContain('kernel.apparmor_restrict_unprivileged_userns=0');
  });
});

describe("the agent's instructions describe the confinement truthfully", () => {
  it('confined, network off: what is writable, HOME empty, network off', () => {
    const prompt = buildSystemPrompt(testDefinition());
    expect(prompt).toContain('Commands run sandboxed');
    expect(prompt).toContain('/tmp (private to this run)');
    expect(prompt).toContain('HOME is an empty folder');
    expect(prompt).toContain('the network is off');
    expect(prompt).not.toContain('nothing outside it can be read');
  });

  it('network on when the loop shares it', () => {
    const prompt = buildSystemPrompt(testDefinition({}, { sandbox: { network: true } }));
    expect(prompt).toContain('the network is on');
  });

  it('unconfined when the loop opted out or the demo fell back', () => {
    expect(buildSystemPrompt(testDefinition({}, { sandbox: 'off' }))).toContain('not sandboxed');
    expect(buildSystemPrompt(testDefinition(), { kind: 'off', description: 'unconfined' })).toContain(
      'not sandboxed',
    );
  });

  it('the run tool says so too', () => {
    expect(runTool.spec.description).toMatch(
      /sandboxed.*private \/tmp.*HOME is an empty folder.*network is off/,
    );
  });
});

describe('the Seatbelt profile (macOS; built here, never run here)', () => {
  const profile = (p: SandboxProfile, policy: Partial<BwrapPolicy> = {}): string =>
    seatbeltProfile(
      { ...POLICY, ...policy },
      { file: '/bin/sh', args: [], cwd: POLICY.worktree, env: {}, profile: p },
    );

  it('denies the network unless allowed, and signals to other processes always', () => {
    expect(profile('agent')).toContain('(deny network*)');
    expect(profile('agent', { network: true })).not.toContain('(deny network*)');
    expect(profile('setup')).not.toContain('(deny network*)');
    expect(profile('agent')).toContain('(deny signal (target others))');
  });

  it('allows the worktree back after denying .loops/, and hides holdout files from all but holdout', () => {
    const text = profile('agent');
    expect(text.indexOf('(subpath "/repo/.loops")')).toBeLessThan(
      text.indexOf(`(allow file-read* file-write* (subpath "${POLICY.worktree}"))`),
    );
    expect(text).toContain('(subpath "/repo/answers.txt")');
    expect(profile('holdout')).not.toContain('/repo/answers.txt');
  });
});

describe("the demo's banner", () => {
  it('names the fix when bubblewrap cannot start, and says the demo runs without the sandbox', async () => {
    const banner = await sandboxBanner('linux', '/nonexistent/bin/bwrap');
    expect(banner).toContain('WITHOUT the sandbox');
    expect(banner).toContain('sudo apt-get install bubblewrap');
  });

  it('is not shown where the sandbox starts', async () => {
    expect(await sandboxBanner('linux', 'bwrap')).toBeUndefined();
  });
});
