/**
 * Inside GitHub Actions (`GITHUB_STEP_SUMMARY` set), `loops run` appends the run's summary to the
 * job's summary page: outcome, spend, the grader table and the branch, the same markdown as
 * state/<loop>/runs/<run>.md, so a scheduled run is readable without downloading anything.
 */
import { appendFile, readFile } from 'node:fs/promises';

export async function writeJobSummary(
  env: NodeJS.ProcessEnv,
  summaryPath: string,
  warn: (message: string) => void,
): Promise<boolean> {
  const target = env.GITHUB_STEP_SUMMARY;
  if (!target) return false;
  try {
    const summary = await readFile(summaryPath, 'utf8');
    await appendFile(target, `${summary.trimEnd()}\n\n`);
    return true;
  } catch (err) {
    // The run's outcome stands; a summary page that could not be written is only reported.
    warn(`could not write the job summary to ${target}: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
}
