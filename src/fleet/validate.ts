/** `loops validate`'s part for loops/loops.yaml: ok with its notes, or each problem; the count of problems. */
import { formatProblem } from '../core/definition/problems.js';
import { FLEET_FILE, loadFleetFile, type FleetFile } from './file.js';

export async function validateFleetFile(
  repoRoot: string,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const loaded = await loadFleetFile(repoRoot);
  if (!loaded.ok) {
    for (const p of loaded.problems) err(formatProblem(p));
    return loaded.problems.length;
  }
  if (!loaded.exists) return 0;
  out(`ok  ${FLEET_FILE}`);
  if (loaded.fleet.webhooks)
    out(
      `    note: the webhook server listens on 127.0.0.1:${loaded.fleet.webhooks.port} while a loop has a webhook trigger`,
    );
  for (const note of fleetNotes(loaded.fleet)) out(`    note: ${note}`);
  return 0;
}

export function fleetNotes(fleet: FleetFile): string[] {
  const notes: string[] = [];
  const { daily_usd: daily, burn_usd_per_hour: burn } = fleet.budget ?? {};
  if (daily !== undefined)
    notes.push(`model calls and new runs wait once the loops spend $${daily} in a day (local time)`);
  if (burn !== undefined)
    notes.push(
      `model calls and new runs wait while the last 15 minutes' spend, times four, is $${burn}/h or more`,
    );
  if (daily === undefined && burn === undefined)
    notes.push('no fleet budget: only each loop’s own budget caps spending');
  notes.push(
    `notifications (${fleet.notify.on.join(', ')}) are posted when ${fleet.notify.url_env} holds a URL`,
  );
  return notes;
}
