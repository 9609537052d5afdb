/** Dispatches a parsed command line to its command, on the repository's top level. */
import { findRepoRoot } from '../workspace/repo-root.js';
import { reportStartupError } from './errors.js';

const KNOWN = new Set([
  'supervise',
  'run',
  'list',
  'validate',
  'new',
  'trace',
  'demo',
  'spend',
  'init',
  'resume',
  'clean',
  'review',
  'improve',
  'daemon',
  'stop',
  'pause',
  'approve',
  'deny',
  'status',
]);
export interface CommonOptions {
  repo: string;
  headless: boolean;
  json: boolean;
  provider: string | undefined;
  /** spend: --loop NAME and --since YYYY-MM-DD */
  loop?: string | undefined;
  since?: string | undefined;
  /** trace: write the run as OTLP JSON to this file */
  otlp?: string | undefined;
  /** init: also write a GitHub Actions workflow */
  github?: boolean;
  /** clean: --dry-run */
  dryRun?: boolean | undefined;
  /** clean: --older-than DAYS */
  olderThan?: string | undefined;
  /** review: --list */
  list?: boolean | undefined;
  /** review --list: every status, not only pending and accepted */
  all?: boolean | undefined;
  /** review reject, stop, deny: --reason TEXT */
  reason?: string | undefined;
}

export async function runCommand(
  command: string | undefined,
  args: string[],
  options: CommonOptions,
  help: string,
): Promise<number> {
  if (command !== 'demo' && command !== undefined && !KNOWN.has(command)) {
    process.stderr.write(`loops: unknown command "${command}"\n\n${help}`);
    return 2;
  }
  if (command !== 'demo') {
    try {
      options = { ...options, repo: await findRepoRoot(options.repo) };
    } catch (err) {
      return reportStartupError(err);
    }
  }
  switch (command) {
    case undefined:
    case 'supervise':
      return (await import('./supervise.js')).supervise(options);
    case 'run':
      return (await import('./run.js')).runHeadless(args, options);
    case 'list':
      return (await import('./list.js')).list(options);
    case 'validate':
      return (await import('./validate.js')).validate(args, options);
    case 'new':
      return (await import('./new.js')).newLoop(args, options);
    case 'trace':
      return (await import('./trace.js')).trace(args, options);
    case 'demo':
      return (await import('./demo.js')).demo(options);
    case 'init':
      return (await import('./init/init.js')).init(args, options, options.github ?? false);
    case 'spend':
      return (await import('./spend.js')).spend(args, options);
    case 'resume': {
      // An owner resumes it (a paused run, or it continues an ended one); else it is continued here.
      const control = await import('./control.js');
      if (await control.ownerServes(options)) return control.control('resume', args, options);
      return (await import('./resume.js')).resume(args, options);
    }
    case 'clean':
      return (await import('./clean.js')).clean(options);
    case 'review':
      return (await import('./review.js')).review(args, options);
    case 'improve':
      return (await import('./improve.js')).improveCommand(args, options);
    case 'daemon':
      return (await import('./daemon.js')).daemon(args, options);
    case 'stop':
    case 'pause':
    case 'approve':
    case 'deny':
    case 'status':
      return (await import('./control.js')).control(command, args, options);
    default:
      process.stderr.write(`loops: unknown command "${command}"\n\n${help}`);
      return 2;
  }
}
