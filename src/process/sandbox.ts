/**
 * The one seam every process that runs worktree code goes through (the `run` tool, command and metric
 * graders, the `command` provider; workspace setup and MCP servers once they exist): a command and
 * what it needs, in; the command to actually spawn, out. `none` runs it as given; `bubblewrap`
 * (Linux) and `seatbelt` (macOS) wrap it in a confinement built from the run's policy.
 */

/**
 * Who is running the command, which decides what it may reach:
 * - `agent`: the agent's own commands (the `run` tool, the `command` provider);
 * - `grader`: a grader that is not a holdout (it runs the agent's code, so it sees what the agent sees);
 * - `holdout`: a holdout grader, the only profile that sees the holdout graders' files;
 * - `setup`: preparing the worktree (installing dependencies): it may reach the network and write a
 *   shared dependency cache, which the agent's phase never can.
 */
export type SandboxProfile = 'agent' | 'grader' | 'holdout' | 'setup';

export interface CommandRequest {
  file: string;
  args: readonly string[];
  /** Where it runs (the worktree, or a folder inside it). */
  cwd: string;
  /** Its whole environment, already without credentials. */
  env: Record<string, string>;
  profile: SandboxProfile;
}

export interface PreparedCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export type SandboxKind = 'none' | 'bubblewrap' | 'seatbelt';

export interface Sandbox {
  readonly kind: SandboxKind;
  /** Cheap and synchronous: no probe per command (the sandbox was probed once when it was opened). */
  prepareCommand(request: CommandRequest): PreparedCommand;
}

/** Runs commands as given: `sandbox: off`, tests of other parts, and platforms without a sandbox. */
export const noSandbox: Sandbox = {
  kind: 'none',
  prepareCommand: (request) => ({
    file: request.file,
    args: [...request.args],
    cwd: request.cwd,
    env: { ...request.env },
  }),
};

/**
 * How a run is confined, for run.started, the screen and the run summary: `off` when it runs unconfined
 * (by choice or, in the demo, because the sandbox could not start), the CLI agents' own sandboxes for
 * claude-code and codex (whose graders still run under bubblewrap or seatbelt).
 */
import type { ConfinementKind } from '../core/events.js';

export type { ConfinementKind };

export interface Confinement {
  kind: ConfinementKind;
  /** One line for people: what is confined and how, or why nothing is. */
  description: string;
}

/** The sandbox cannot start here; `message` names the fix. */
export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}
