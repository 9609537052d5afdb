/**
 * `loops review`: hill-climb proposals without the screen. `--list` (the default) shows the pending
 * and accepted ones, pending first (`--all`: regressed, rejected and superseded too); `show ID` prints a proposal's page; `accept ID` applies its diff and commits it on the current
 * branch; `reject ID --reason TEXT` keeps the reason for the analyst. With `--json`, one JSON value.
 * (Run review, the merge or discard of a run's branch, is commands/review-port.ts.)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { shownToPerson, type ProposalView } from '../core/proposals.js';
import { openProposals } from '../hillclimb/port.js';
import { statePaths } from '../state/paths.js';
import type { CommonOptions } from './index.js';

const USAGE =
  'usage: loops review [--list] [--all] [NAME] | loops review show ID | loops review accept ID | loops review reject ID --reason TEXT';

function line(p: ProposalView): string {
  return `${p.id}  ${p.status.padEnd(10)} ${p.loop}  ${p.file}  ${p.effect}  ${p.title}`;
}

export async function review(args: string[], options: CommonOptions): Promise<number> {
  const port = openProposals(options.repo);
  const [verb, id, ...extra] = args;
  const out = (text: string): void => void process.stdout.write(text);
  if (
    verb === undefined ||
    options.list === true ||
    (verb !== 'accept' && verb !== 'reject' && verb !== 'show')
  ) {
    if (verb !== undefined && args.length > 1) {
      process.stderr.write(`loops review: ${USAGE}\n`);
      return 2;
    }
    const every = await port.list(verb ?? options.loop, { all: true });
    const views = options.all === true ? every : every.filter(shownToPerson);
    const hidden = every.length - views.length;
    if (options.json) out(`${JSON.stringify(views, null, 2)}\n`);
    else if (every.length === 0) out('no proposals yet: loops improve NAME makes one\n');
    else if (views.length === 0)
      out(`no proposal to review; ${hidden} regressed, rejected or superseded (--all lists them)\n`);
    else out(`${views.map(line).join('\n')}\n`);
    return 0;
  }
  if (id === undefined || extra.length > 0) {
    process.stderr.write(`loops review: ${USAGE}\n`);
    return 2;
  }
  if (verb === 'show') {
    const found = (await port.list(undefined, { all: true })).find((p) => p.id === id);
    if (!found) {
      process.stderr.write(`loops review: no proposal ${id}\n`);
      return 1;
    }
    if (options.json) out(`${JSON.stringify(found, null, 2)}\n`);
    else
      out(
        await readFile(
          path.join(statePaths(options.repo).loopDir(found.loop), 'proposals', `${id}.md`),
          'utf8',
        ),
      );
    return 0;
  }
  if (verb === 'reject' && (options.reason ?? '').trim() === '') {
    process.stderr.write('loops review: reject needs --reason TEXT (the analyst is shown it next time)\n');
    return 2;
  }
  const answer = verb === 'accept' ? await port.accept(id) : await port.reject(id, options.reason ?? '');
  if (options.json) out(`${JSON.stringify(answer)}\n`);
  else if (answer.ok) out(`${answer.detail}\n`);
  if (!answer.ok) process.stderr.write(`loops review: ${answer.reason}\n`);
  return answer.ok ? 0 : 1;
}
