/** Turns the errors a command can expect into a message and an exit status. */
import { StateLockedError } from '../state/lock.js';
import { WorkspaceError } from '../workspace/worktrees.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { FleetFileError } from '../fleet/file.js';

export function reportStartupError(err: unknown): number {
  if (err instanceof StateLockedError || err instanceof WorkspaceError || err instanceof FleetFileError) {
    process.stderr.write(`loops: ${err.message}\n`);
    return EXIT_BAD_DEFINITION;
  }
  throw err;
}
