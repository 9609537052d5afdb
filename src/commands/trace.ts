/** `loops trace NAME [RUN]`: a run's trace as readable lines (the latest run by default). */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { describeEventLine } from '../core/describe.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { readTrace } from '../state/trace.js';
import { writeFileAtomic } from '../state/atomic.js';
import { statePaths, type StatePaths } from '../state/paths.js';
import { StateIndex } from '../state/index-db.js';
import type { CommonOptions } from './index.js';

/** The latest run by the index's start times; trace files alone when there is no index. */
async function latestRun(paths: StatePaths, name: string): Promise<string | undefined> {
  if (existsSync(paths.index)) {
    const last = (await StateIndex.open(paths.index)).lastRun(name);
    if (last) return last.run;
  }
  const dir = paths.tracesDir(name);
  if (!existsSync(dir)) return undefined;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
  const dated = await Promise.all(
    files.map(async (f) => ({ f, at: (await stat(path.join(dir, f))).mtimeMs })),
  );
  return dated
    .sort((a, b) => a.at - b.at)
    .pop()
    ?.f.slice(0, -'.jsonl'.length);
}

export async function trace(args: string[], options: CommonOptions): Promise<number> {
  const [name, run] = args;
  if (!name) {
    process.stderr.write('loops trace: give a loop name, e.g. loops trace fix-tests\n');
    return EXIT_BAD_DEFINITION;
  }
  const paths = statePaths(options.repo);
  const runId = run ?? (await latestRun(paths, name));
  if (!runId) {
    process.stderr.write(`loops trace: ${name} has no runs yet\n`);
    return EXIT_BAD_DEFINITION;
  }
  const file = paths.trace(name, runId);
  if (!existsSync(file)) {
    process.stderr.write(`loops trace: no trace at ${file}\n`);
    return EXIT_BAD_DEFINITION;
  }
  if (options.otlp !== undefined) return writeOtlp(file, options.otlp, name, options.repo);
  for (const event of await readTrace(file)) {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describeEventLine(event);
      if (line) process.stdout.write(`${event.time.slice(11, 19)} #${event.iteration} ${line}\n`);
    }
  }
  return 0;
}

/** The recorded run as one OTLP/JSON request, for any tracing tool that reads OTLP. */
async function writeOtlp(traceFile: string, out: string, loop: string, repo: string): Promise<number> {
  const [{ otlpJson }, { loopsVersion }, { loadLoop }] = await Promise.all([
    import('../telemetry/file.js'),
    import('../telemetry/version.js'),
    import('../core/definition/load.js'),
  ]);
  const loaded = await loadLoop(repo, loop);
  // Content stays out unless the loop opts in; a loop whose LOOP.md no longer loads exports none.
  const content = loaded.ok ? loaded.definition.telemetry.content : false;
  const events = await readTrace(traceFile);
  await writeFileAtomic(path.resolve(out), otlpJson(events, { content, serviceVersion: loopsVersion() }));
  process.stderr.write(`wrote ${events.length} events as OTLP JSON to ${out}\n`);
  return 0;
}
