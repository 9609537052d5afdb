/**
 * A child process and everything it starts, treated as one: spawned in its own process group (pass
 * `detached: GROUPS` to execa), signalled as a group, killed when it exits (so background children do
 * not outlive it or hold its pipes open) and when loops itself exits. Used by the agent's shell
 * commands and by the CLI agents (claude, codex, any command), which run tools of their own.
 */
import type { ChildProcess } from 'node:child_process';

/** Whether children get their own process group; Windows has none, so only the child is signalled. */
export const GROUPS = process.platform !== 'win32';

/** Process groups still running, killed if loops itself exits so no command outlives it. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

export interface GroupOptions {
  /** Between SIGTERM and SIGKILL once stop() is called. */
  graceMs: number;
  /** After the child exits, how long output from processes that escaped the group may keep the pipes open. */
  drainMs: number;
}

export interface SupervisedGroup {
  /** SIGTERM to the whole group now, SIGKILL after the grace period; later calls do nothing. */
  stop(): void;
  /** Clears the timers and stops tracking the group; call once the child has settled. */
  dispose(): void;
}

/** Takes charge of `child`'s process group from now until dispose(). */
export function superviseGroup(child: ChildProcess, opts: GroupOptions): SupervisedGroup {
  installExitHook();
  const pid = child.pid;
  if (pid !== undefined && GROUPS) liveGroups.add(pid);

  const kill = (signal: NodeJS.Signals): void => {
    if (pid !== undefined && GROUPS) killGroup(pid, signal);
    else child.kill(signal);
  };

  let graceTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;

  child.once('exit', () => {
    // Background children would otherwise keep running and hold the output pipes open.
    kill('SIGKILL');
    drainTimer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, opts.drainMs);
  });

  return {
    stop() {
      if (graceTimer) return;
      kill('SIGTERM');
      graceTimer = setTimeout(() => kill('SIGKILL'), opts.graceMs);
    },
    dispose() {
      clearTimeout(graceTimer);
      clearTimeout(drainTimer);
      if (pid !== undefined) liveGroups.delete(pid);
    },
  };
}
