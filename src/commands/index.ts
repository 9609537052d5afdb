/** Dispatches a parsed command line to its command. */
export interface CommonOptions {
  repo: string;
  headless: boolean;
  json: boolean;
  provider: string | undefined;
}

export async function runCommand(
  command: string | undefined,
  args: string[],
  options: CommonOptions,
  help: string,
): Promise<number> {
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
    default:
      process.stderr.write(`loops: unknown command "${command}"\n\n${help}`);
      return 2;
  }
}
