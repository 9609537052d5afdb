/** `loops trace NAME [RUN]`: a run's trace as readable lines (the latest run by default). */
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { describeEventLine } from '../core/describe.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { readTrace } from '../state/trace.js';
import { statePaths } from '../state/paths.js';
import type { CommonOptions } from './index.js';

export async function trace(args: string[], options: CommonOptions): Promise<number> {
  const [name, run] = args;
  if (!name) {
    process.stderr.write('loops trace: give a loop name, e.g. loops trace fix-tests\n');
    return EXIT_BAD_DEFINITION;
  }
  const paths = statePaths(options.repo);
  const dir = paths.tracesDir(name);
  const runId =
    run ??
    (existsSync(dir)
      ? (await readdir(dir))
          .filter((f) => f.endsWith('.jsonl'))
          .sort()
          .pop()
          ?.slice(0, -6)
      : undefined);
  if (!runId) {
    process.stderr.write(`loops trace: ${name} has no runs yet\n`);
    return EXIT_BAD_DEFINITION;
  }
  const file = paths.trace(name, runId);
  if (!existsSync(file)) {
    process.stderr.write(`loops trace: no trace at ${file}\n`);
    return EXIT_BAD_DEFINITION;
  }
  for (const event of await readTrace(file)) {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describeEventLine(event);
      if (line) process.stdout.write(`${event.time.slice(11, 19)} #${event.iteration} ${line}\n`);
    }
  }
  return 0;
}
