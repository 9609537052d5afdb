/**
 * `loops list`: the loops, what starts them, and their last outcome. Read-only: takes no lock. A run
 * the index still calls running while no live loops holds the state folder was cut off (the next
 * supervisor closes it): it is shown as failed (interrupted), never as running. While a loops owns
 * the folder and serves its socket (the daemon, a screen), the runs in flight come from it.
 */
import { loadAllLoops } from '../core/definition/load.js';
import { describeTrigger } from '../core/supervisor-view.js';
import { describeNextDue } from '../triggers/cron.js';
import { StateIndex } from '../state/index-db.js';
import { statePaths } from '../state/paths.js';
import { stateLockState } from '../state/lock.js';
import type { CommonOptions } from './index.js';
import type { SupervisorSnapshot } from '../core/control.js';
import { findOwner, RemoteSupervisor } from '../daemon/client.js';
import type { OwnerKind } from '../daemon/protocol.js';

export async function list(options: CommonOptions): Promise<number> {
  const loops = await loadAllLoops(options.repo);
  if (loops.length === 0) {
    process.stdout.write('no loops yet: create one with loops new NAME\n');
    return 0;
  }
  const paths = statePaths(options.repo);
  const index = await StateIndex.openForReading(paths.index);
  let holder: Awaited<ReturnType<typeof stateLockState>> | undefined;
  // With a live owner (the daemon, a screen), what is in flight comes from it, not from the index.
  const owner = await liveOwner(paths.root);
  const live = owner?.snapshot;
  const rows: string[][] = [];
  let triggered = false;
  for (const { name, result } of loops) {
    const last = index?.lastRun(name);
    let status: string | undefined = last?.status;
    if (status === 'running') {
      holder ??= await stateLockState(paths.root);
      if (holder === 'none' || holder === 'dead') status = 'failed (interrupted)';
    }
    const lastText = liveText(live, name) ?? (last ? `${status} (${last.run})` : 'never run');
    if (!result.ok) {
      rows.push([name, 'INVALID', `${result.problems.length} problem(s): loops validate ${name}`, lastText]);
      continue;
    }
    const d = result.definition;
    if (describeTrigger(d) !== 'manual') triggered = true;
    const due = describeNextDue(d);
    rows.push([
      name,
      `${d.agent.provider}/${d.model}`,
      describeTrigger(d) + (due ? ` (${due})` : ''),
      lastText,
    ]);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of rows) {
    process.stdout.write(
      `${row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}\n`,
    );
  }
  // Triggers are jobs of the screen and the daemon: with neither running, a schedule shown is not kept.
  if (triggered && owner?.kind !== 'screen' && owner?.kind !== 'daemon')
    process.stdout.write(
      '\ntriggers (cron, watch, webhook, goal) fire only while loops or loops daemon runs here; neither runs now\n',
    );
  return 0;
}

async function liveOwner(
  stateRoot: string,
): Promise<{ snapshot: SupervisorSnapshot; kind: OwnerKind } | undefined> {
  const owner = await findOwner(stateRoot);
  if (owner.state !== 'served') return undefined;
  try {
    const port = await RemoteSupervisor.connect(owner.socket, { client: 'list' });
    port.close();
    return { snapshot: port.snapshot(), kind: port.owner.owner };
  } catch {
    // An owner that cannot be reached now: the index is shown as it is.
    return undefined;
  }
}

function liveText(live: SupervisorSnapshot | undefined, loop: string): string | undefined {
  if (!live) return undefined;
  const runs = live.runs.filter((r) => r.loop === loop);
  if (runs.length > 0) return runs.map((r) => `${r.status} (${r.run}, iteration ${r.iteration})`).join('; ');
  if (live.queue.some((q) => q.loop === loop)) return 'queued';
  return undefined;
}
