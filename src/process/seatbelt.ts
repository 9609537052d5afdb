/**
 * The macOS sandbox: a Seatbelt profile for `sandbox-exec`, built from the same policy as bubblewrap.
 * UNTESTED: these machines run Linux, so this builder has never run a command (docs/sandbox.md says
 * so). Seatbelt has no PID namespace: loops' process stays visible, and a signal to it is refused only
 * because the profile denies `signal` outside the sandbox's own processes.
 */
import type { BwrapPolicy } from './bubblewrap.js';
import { bwrapEnv } from './bubblewrap.js';
import type { CommandRequest, PreparedCommand, Sandbox } from './sandbox.js';

export const SANDBOX_EXEC = '/usr/bin/sandbox-exec';

function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function seatbeltProfile(policy: BwrapPolicy, request: CommandRequest): string {
  const network = policy.network || request.profile === 'setup';
  const writable = [policy.worktree, policy.tmpDir, policy.homeDir];
  if (request.profile === 'setup' && policy.setupCache !== undefined) writable.push(policy.setupCache);
  const inside = [...policy.hiddenInWorktree];
  if (request.profile !== 'holdout') inside.push(...policy.holdoutDirs, ...policy.holdoutFiles);
  const subpaths = (paths: readonly string[]): string => paths.map((p) => `(subpath ${quote(p)})`).join(' ');
  const deny = (what: string, paths: readonly string[]): string[] =>
    paths.length > 0 ? [`(deny ${what} ${subpaths(paths)})`] : [];
  // Later rules win: the real home is denied and what commands need in it allowed back; loops' records
  // (.loops/ holds the worktree) denied and the worktree allowed back; then what is hidden inside it.
  const lines = [
    '(version 1)',
    '(allow default)',
    '(deny file-write*)',
    `(allow file-write* ${subpaths(writable)} (literal "/dev/null"))`,
    `(deny file-read* (subpath ${quote(policy.home)}))`,
    `(allow file-read* ${subpaths([policy.homeDir, ...policy.reveal])})`,
    ...deny('file-read* file-write*', policy.hiddenDirs),
    `(allow file-read* file-write* (subpath ${quote(policy.worktree)}))`,
    `(deny file-write* (literal ${quote(`${policy.worktree}/.git`)}))`,
    ...deny('file-read* file-write*', inside),
    '(deny signal (target others))',
  ];
  // Unix sockets stay denied too: a daemon's socket (docker's, say) is a way out.
  if (!network) lines.push('(deny network*)');
  return lines.join('\n');
}

export class SeatbeltSandbox implements Sandbox {
  readonly kind = 'seatbelt';
  constructor(readonly policy: BwrapPolicy) {}

  prepareCommand(request: CommandRequest): PreparedCommand {
    // HOME is the private folder itself: Seatbelt cannot mount it over the real one.
    const env = {
      ...bwrapEnv(this.policy, request.env),
      HOME: this.policy.homeDir,
      TMPDIR: this.policy.tmpDir,
    };
    return {
      file: SANDBOX_EXEC,
      args: ['-p', seatbeltProfile(this.policy, request), request.file, ...request.args],
      cwd: request.cwd,
      env,
    };
  }
}
