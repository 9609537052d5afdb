/** `loops list`: the loops, what starts them, and their last outcome. Read-only: takes no lock. */
import { existsSync } from 'node:fs';
import { loadAllLoops } from '../core/definition/load.js';
import { describeTrigger } from '../core/supervisor.js';
import { StateIndex } from '../state/index-db.js';
import { statePaths } from '../state/paths.js';
import type { CommonOptions } from './index.js';

export async function list(options: CommonOptions): Promise<number> {
  const loops = await loadAllLoops(options.repo);
  if (loops.length === 0) {
    process.stdout.write('no loops yet: create one with loops new NAME\n');
    return 0;
  }
  const indexFile = statePaths(options.repo).index;
  const index = existsSync(indexFile) ? await StateIndex.open(indexFile) : undefined;
  const rows = loops.map(({ name, result }) => {
    const last = index?.lastRun(name);
    const lastText = last ? `${last.status} (${last.run})` : 'never run';
    if (!result.ok)
      return [name, 'INVALID', `${result.problems.length} problem(s): loops validate ${name}`, lastText];
    const d = result.definition;
    return [name, `${d.agent.provider}/${d.model}`, describeTrigger(d), lastText];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of rows) {
    process.stdout.write(
      `${row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}\n`,
    );
  }
  return 0;
}
