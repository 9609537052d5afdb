#!/usr/bin/env node
/**
 * Argument parsing and wiring only. `--version` and `--help` answer before anything heavy is
 * imported, so they stay fast; each command loads what it needs.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';

const HELP = `loops: a supervisor for autonomous AI-agent loops

Usage:
  loops                          open the supervisor on ./loops (every loop, live)
  loops run NAME [--json]        one run without the screen; exit 0 verified, 1 failed,
                                 2 bad definition or usage, 3 budget, 4 stalled, 5 stopped;
                                 handed to the daemon or screen that owns state/, if one runs
  loops resume NAME [RUN]        continue an interrupted run (or one that reached its budget)
                                 from its last completed iteration, as a new run
  loops list                     the loops and their last outcome
  loops validate [NAME]          check LOOP.md files; problems as FILE:LINE: field: message
  loops init [NAME] [--github]   set a repository up: a first loop, .gitignore, a CI workflow
  loops new NAME [--provider P]  scaffold loops/NAME (LOOP.md, SKILL.md, RUBRIC.md)
  loops trace NAME [RUN]         print a run's trace (default: the latest run);
                                 --otlp FILE writes it as OpenTelemetry (OTLP JSON)
  loops demo [--headless]        the offline demo: a throwaway repo, scripted model, real graders
  loops spend [--loop NAME] [--since YYYY-MM-DD] [--json]
                                 tokens and dollars per loop, model, day and step (UTC days)
  loops clean [--dry-run]        remove worktrees of merged or discarded runs (never a dirty
                                 or unmerged one)
  loops clean --older-than DAYS  fold old runs' spend files into the totals and prune their
                                 traces' detail; every figure loops spend shows stays the same
  loops improve NAME             hill-climb now: propose one change to the loop's skill or task
                                 from its traces, measured on its recent tasks
  loops review [--list] [NAME]   hill-climb proposals to decide on, pending first (--all: every
                                 status, regressed ones too); review show ID prints one;
                                 review accept ID commits its diff; review reject ID --reason TEXT
  loops daemon                   own the repository's state folder with no screen: serve
                                 screens and scripts on its socket, run triggers, log events
  loops status [NAME] [--json]   what the loops that owns state/ is doing (runs, approvals)
  loops stop|pause|resume NAME   control a run of the loops that owns state/ (daemon or screen)
  loops approve ID               answer a waiting approval; loops deny ID [--reason TEXT]

Options:
  -C, --repo DIR   the repository (default: the current directory)
  --headless       no screen (run, demo); progress on stderr, summary on stdout
  --json           with run, spend, review or improve: print JSON
  -h, --help       this help
  -v, --version    the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        repo: { type: 'string', short: 'C' },
        headless: { type: 'boolean' },
        json: { type: 'boolean' },
        provider: { type: 'string' },
        loop: { type: 'string' },
        since: { type: 'string' },
        github: { type: 'boolean' },
        otlp: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'older-than': { type: 'string' },
        list: { type: 'boolean' },
        all: { type: 'boolean' },
        reason: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`loops: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const repo = values.repo ?? process.cwd();
  const [command, ...rest] = positionals;
  const { runCommand } = await import('./commands/index.js');
  return runCommand(
    command,
    rest,
    {
      repo,
      headless: values.headless ?? false,
      json: values.json ?? false,
      provider: values.provider,
      loop: values.loop,
      since: values.since,
      github: values.github ?? false,
      otlp: values.otlp,
      dryRun: values['dry-run'],
      olderThan: values['older-than'],
      list: values.list,
      all: values.all,
      reason: values.reason,
    },
    HELP,
  );
}

// A reader that goes away (loops trace x | head) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`loops: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
