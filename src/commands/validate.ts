/**
 * `loops validate [NAME]`: every problem as FILE:LINE: field: message; exit 2 when there are any.
 * Warnings (settings accepted but not acted on yet) are printed the same way with "warning:", and
 * leave the exit code alone.
 */
import { loadAllLoops, loadLoop } from '../core/definition/load.js';
import { formatProblem } from '../core/definition/problems.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import type { CommonOptions } from './index.js';
import { approvalNotes } from '../core/approval/definition-check.js';
import { validateFleetFile } from '../fleet/validate.js';
import { missingSecretWarning } from '../triggers/webhook-settings.js';
import { cliAgentNotes } from '../models/cli-notes.js';
import { describeStepModels } from '../core/run/step-model.js';

export async function validate(args: string[], options: CommonOptions): Promise<number> {
  const results = args.length
    ? await Promise.all(args.map(async (name) => ({ name, result: await loadLoop(options.repo, name) })))
    : await loadAllLoops(options.repo);
  let problems = await validateFleetFile(options.repo);
  if (results.length === 0) {
    process.stdout.write('no loops to validate: create one with loops new NAME\n');
    return problems > 0 ? EXIT_BAD_DEFINITION : 0;
  }
  for (const { name, result } of results) {
    if (result.ok) {
      process.stdout.write(`ok  ${name}\n`);
      for (const w of result.warnings) {
        process.stdout.write(`    ${w.file}:${w.line}: ${w.field}: warning: ${w.message}\n`);
      }
      // Where the secret comes from is this environment's business, not the file's: checked here.
      const secret = missingSecretWarning(result.definition, process.env);
      if (secret !== undefined) process.stdout.write(`    warning: ${secret}\n`);
      if (result.definition.verify.length === 0) {
        process.stdout.write(
          `    note: ${name} has no graders; a run is accepted as soon as the agent ends its turn\n`,
        );
      }
      for (const note of approvalNotes(result.definition)) process.stdout.write(`    note: ${note}\n`);
      for (const note of cliAgentNotes(result.definition, process.env))
        process.stdout.write(`    note: ${note}\n`);
      const models = describeStepModels(result.definition);
      if (models) process.stdout.write(`    note: ${models}\n`);
      continue;
    }
    problems += result.problems.length;
    for (const p of result.problems) process.stderr.write(`${formatProblem(p)}\n`);
  }
  if (problems > 0) {
    process.stderr.write(`${problems} problem(s) found\n`);
    return EXIT_BAD_DEFINITION;
  }
  return 0;
}
