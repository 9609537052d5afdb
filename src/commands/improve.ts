/**
 * `loops improve NAME`: one hill-climb step now, in this process: the analysis, the evaluation on the
 * loop's recent tasks, and the proposal filed (pending when it measured a gain, regressed when not).
 * It holds the state folder's lock meanwhile (its calls go in the spend ledger); with a supervisor
 * running, press h in its screen instead.
 */
import type { EvaluationArm } from '../core/proposals.js';
import { improve } from '../hillclimb/improve.js';
import { toView } from '../hillclimb/port.js';
import { lockStateDir } from '../state/lock.js';
import { statePaths } from '../state/paths.js';
import { describeEventLine } from '../core/describe.js';
import { reportStartupError } from './errors.js';
import type { CommonOptions } from './index.js';

function money(usd: number | null): string {
  return usd === null ? '—' : `$${usd.toFixed(4)}`;
}

function armLine(a: EvaluationArm): string {
  return `  ${a.arm.padEnd(8)} verified ${a.verified}/${a.runs} (${(a.rate * 100).toFixed(0)}%)  iterations ${a.iterations}  ${money(a.usd)}  $/verified ${money(a.usdPerVerified)}`;
}

export async function improveCommand(args: string[], options: CommonOptions): Promise<number> {
  const [name, ...extra] = args;
  if (name === undefined || extra.length > 0) {
    process.stderr.write('usage: loops improve NAME\n');
    return 2;
  }
  const paths = statePaths(options.repo);
  let lock;
  try {
    lock = await lockStateDir(paths.root);
  } catch (error) {
    return reportStartupError(error);
  }
  try {
    const result = await improve({
      repoRoot: options.repo,
      loop: name,
      emit: (body) => {
        if (body.type === 'proposal.changed' && !options.json)
          process.stderr.write(`[${name}] ${body.status}${body.reason ? `: ${body.reason}` : ''}\n`);
      },
      onRunEvent: (event) => {
        if (options.json || event.type !== 'run.ended') return;
        const text = describeEventLine(event);
        if (text) process.stderr.write(`[${name} ${event.run}] ${text}\n`);
      },
    });
    if (!result.ok) {
      if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, reason: result.reason })}\n`);
      process.stderr.write(`loops improve: ${result.reason}\n`);
      return 1;
    }
    const p = result.proposal;
    if (options.json) {
      process.stdout.write(`${JSON.stringify(toView(p), null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      [
        `${p.id} ${p.status}: ${p.title}`,
        `  file: ${p.file}`,
        ...p.evaluation.map(armLine),
        `  effect: ${p.effect}`,
        `  cost: ${money(p.costUsd)}`,
        p.status === 'pending'
          ? `  review: loops review show ${p.id}; loops review accept ${p.id}`
          : `  kept in state/${p.loop}/proposals/${p.id}.md (not shown for review: ${p.reason ?? 'no gain'})`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await lock.release();
  }
}
