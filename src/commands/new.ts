/** `loops new NAME`: scaffolds a loop that validates as it stands. */
import { scaffoldLoop, ScaffoldError } from '../core/definition/scaffold.js';
import { PROVIDERS, type ProviderName } from '../core/definition/schema.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import type { CommonOptions } from './index.js';

export async function newLoop(args: string[], options: CommonOptions): Promise<number> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0) {
    process.stderr.write('loops new: give one loop name, e.g. loops new fix-tests\n');
    return EXIT_BAD_DEFINITION;
  }
  const provider = options.provider;
  if (provider !== undefined && !isProvider(provider)) {
    process.stderr.write(`loops new: --provider must be one of ${PROVIDERS.join(', ')}\n`);
    return EXIT_BAD_DEFINITION;
  }
  try {
    const created = await scaffoldLoop(options.repo, name, provider ? { provider } : undefined);
    for (const file of created) process.stdout.write(`created ${file}\n`);
    process.stdout.write(
      `next: edit loops/${name}/LOOP.md, then loops validate ${name} and loops run ${name}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ScaffoldError) {
      process.stderr.write(`loops new: ${err.message}\n`);
      return EXIT_BAD_DEFINITION;
    }
    throw err;
  }
}

function isProvider(p: string): p is ProviderName {
  return (PROVIDERS as readonly string[]).includes(p);
}
