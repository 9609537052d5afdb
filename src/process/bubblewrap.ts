/**
 * The Linux sandbox: bubblewrap (`bwrap`) arguments built from a run's policy, and a probe that tells
 * once per binary whether bwrap can start here at all (missing, or user namespaces switched off).
 *
 * Inside, the whole file system is read-only (so tools and the dependencies the checkout installed are
 * still found); the worktree, a private /tmp and a fresh, empty HOME are the only writable places;
 * loops' own records (state/, .loops/ beyond this worktree) and the holdout graders' files are
 * covered by empty folders; /run (sockets of system daemons) is covered too; the command gets its own
 * PID, IPC and UTS namespaces (no /proc/<loops>, no signal can reach loops), no capabilities (a root
 * user cannot remount anything writable), no network unless the loop allows it, its own session (no
 * typing into the terminal), and it dies with loops.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CommandRequest, PreparedCommand, Sandbox } from './sandbox.js';
import { SandboxUnavailableError } from './sandbox.js';

export interface BwrapPolicy {
  /** The bwrap executable: a name on PATH or a path. */
  binary: string;
  /** The run's worktree, writable. */
  worktree: string;
  /** A host folder of this run's, mounted at /tmp. */
  tmpDir: string;
  /** A host folder of this run's, empty at the start, mounted at `home`. */
  homeDir: string;
  /** HOME inside: the user's home path (so ~ and absolute paths into it both find the empty one). */
  home: string;
  /** Paths the /tmp, /run and HOME mounts would shadow but which must stay visible, read-only. */
  reveal: readonly string[];
  /** Folders covered by an empty read-only folder: state/, .loops/ (the worktree is bound back). */
  hiddenDirs: readonly string[];
  /** Folders inside the worktree covered after it is bound (a state/ copy the base commit holds). */
  hiddenInWorktree: readonly string[];
  /** The holdout graders' files and folders: hidden from every profile but `holdout`. */
  holdoutFiles: readonly string[];
  holdoutDirs: readonly string[];
  /** Whether the agent's and graders' commands may reach the network. */
  network: boolean;
  /** The shared dependency cache the `setup` profile may write (and only it). */
  setupCache?: string;
}

/** Variables that point at the user's session services, which the sandbox hides. */
const SESSION_VARS = ['SSH_AUTH_SOCK', 'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'GPG_AGENT_INFO'];

/** bwrap's arguments, in mount order: later mounts cover earlier ones. */
export function bwrapArgs(policy: BwrapPolicy, request: CommandRequest): string[] {
  const args: string[] = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/run'];
  const network = policy.network || request.profile === 'setup';
  // DNS often goes through a resolver socket under /run; keep it when the network is allowed.
  if (network) args.push('--ro-bind-try', '/run/systemd/resolve', '/run/systemd/resolve');
  args.push('--bind', policy.tmpDir, '/tmp');
  args.push('--bind', policy.homeDir, policy.home);
  for (const p of policy.reveal) args.push('--ro-bind-try', p, p);
  // Empty folders over loops' records; read-only only after the worktree's mount point is made in them.
  for (const dir of policy.hiddenDirs) args.push('--tmpfs', dir);
  args.push('--bind', policy.worktree, policy.worktree);
  for (const dir of policy.hiddenDirs) args.push('--remount-ro', dir);
  // The gitfile says where the worktree's git dir is: swapped, it could point loops' own git at the agent's.
  args.push('--ro-bind-try', path.join(policy.worktree, '.git'), path.join(policy.worktree, '.git'));
  for (const dir of policy.hiddenInWorktree) args.push('--tmpfs', dir, '--remount-ro', dir);
  if (request.profile !== 'holdout') {
    for (const dir of policy.holdoutDirs) args.push('--tmpfs', dir, '--remount-ro', dir);
    for (const file of policy.holdoutFiles) args.push('--ro-bind', '/dev/null', file);
  }
  if (request.profile === 'setup' && policy.setupCache !== undefined)
    args.push('--bind', policy.setupCache, policy.setupCache);
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try');
  if (!network) args.push('--unshare-net');
  args.push('--cap-drop', 'ALL', '--die-with-parent', '--new-session', '--chdir', request.cwd);
  args.push('--', request.file, ...request.args);
  return args;
}

export function bwrapEnv(policy: BwrapPolicy, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...env, HOME: policy.home, TMPDIR: '/tmp' };
  for (const name of SESSION_VARS) delete out[name];
  return out;
}

export class BwrapSandbox implements Sandbox {
  readonly kind = 'bubblewrap';
  constructor(readonly policy: BwrapPolicy) {}

  prepareCommand(request: CommandRequest): PreparedCommand {
    // A file the agent or a metric reset removed cannot be a mount point: cover only what exists now.
    const policy: BwrapPolicy = {
      ...this.policy,
      hiddenInWorktree: this.policy.hiddenInWorktree.filter((p) => existsSync(p)),
      holdoutFiles: this.policy.holdoutFiles.filter((p) => existsSync(p)),
      holdoutDirs: this.policy.holdoutDirs.filter((p) => existsSync(p)),
    };
    // The shared cache is made on first use by setup, never for the agent's profile.
    if (request.profile === 'setup' && policy.setupCache !== undefined)
      mkdirSync(policy.setupCache, { recursive: true });
    return {
      file: this.policy.binary,
      args: bwrapArgs(policy, request),
      cwd: request.cwd,
      env: bwrapEnv(this.policy, request.env),
    };
  }
}

export const BWRAP_INSTALL = 'sudo apt-get install bubblewrap (Fedora: sudo dnf install bubblewrap)';
const USERNS_FIX =
  'enable unprivileged user namespaces: sudo sysctl -w kernel.unprivileged_userns_clone=1 ' +
  '(Ubuntu 23.10 and later: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0; ' +
  'in a container, allow it to create namespaces)';
const OPT_OUT = 'or set `sandbox: off` in LOOP.md to run the loop unconfined';

/** What `bwrap` answered, put as a message that names the fix. */
export function describeBwrapFailure(binary: string, failure: { missing: boolean; stderr: string }): string {
  if (failure.missing) {
    return `the sandbox cannot start: bubblewrap (${binary}) is not installed; install it with ${BWRAP_INSTALL}, ${OPT_OUT}`;
  }
  const said = failure.stderr.trim().split('\n').slice(-1)[0] ?? '';
  return `the sandbox cannot start: bubblewrap failed (${said || 'no message'}); ${USERNS_FIX}, ${OPT_OUT}`;
}

const probes = new Map<string, Promise<string | undefined>>();

/**
 * Whether bwrap starts here with the namespaces the sandbox uses: undefined when it does, else the
 * message naming the fix. Probed once per binary per process (about 7 ms), never per command.
 */
export function probeBubblewrap(binary: string): Promise<string | undefined> {
  let probe = probes.get(binary);
  if (!probe) {
    probe = runProbe(binary);
    probes.set(binary, probe);
  }
  return probe;
}

async function runProbe(binary: string): Promise<string | undefined> {
  const result = await execa(
    binary,
    [
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--tmpfs',
      '/tmp',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-net',
      '--cap-drop',
      'ALL',
      '--die-with-parent',
      '--new-session',
      '--',
      '/bin/sh',
      '-c',
      'exit 0',
    ],
    { reject: false, stdin: 'ignore', timeout: 15_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  if (result.exitCode === 0) return undefined;
  const missing = result.code === 'ENOENT' || result.code === 'EACCES';
  return describeBwrapFailure(binary, { missing, stderr: String(result.stderr ?? result.message) });
}

/** Throws the fix when bwrap cannot start. */
export async function requireBubblewrap(binary: string): Promise<void> {
  const problem = await probeBubblewrap(binary);
  if (problem !== undefined) throw new SandboxUnavailableError(problem);
}
