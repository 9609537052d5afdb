/**
 * The offline demo's warning when the sandbox cannot start here: the demo still runs (its scripted
 * loops do nothing harmful), unconfined, with the fix named so a real loop is not run that way.
 */
import { probeBubblewrap } from '../process/bubblewrap.js';

/** The banner to print, or undefined when the sandbox starts (or the platform has another). */
export async function sandboxBanner(
  platform: NodeJS.Platform = process.platform,
  binary = 'bwrap',
): Promise<string | undefined> {
  if (platform !== 'linux') return undefined;
  const problem = await probeBubblewrap(binary);
  if (problem === undefined) return undefined;
  const rule = '!'.repeat(72);
  return [
    rule,
    '!! The demo runs WITHOUT the sandbox on this machine.',
    `!! ${problem.replace(/^the sandbox cannot start: /, '')}`,
    '!! Real loops fail rather than run unconfined until it is fixed.',
    rule,
    '',
  ].join('\n');
}
