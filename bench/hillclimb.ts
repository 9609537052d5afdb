/**
 * Hill-climbing on a scripted task whose success depends on the skill text: the demo's tidy-comments,
 * whose scripted agent removes every stale comment only when its skill says that each one is stale.
 * Measured in one run: the loop's verified rate and dollars per verified run over RUNS runs before a
 * proposal, the cost and time of producing and evaluating the proposal (`improve`), and the same
 * figures over RUNS runs after it is accepted. The scripted model's tokens are priced as
 * claude-haiku-4-5 would bill them, so the dollars are real-shaped (the scripted model itself is free).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pricerFor } from '../src/core/budget/prices.js';
import type { TokenUsage } from '../src/core/events.js';
import { Supervisor } from '../src/core/supervisor.js';
import { createDemoRepo } from '../src/demo/setup.js';
import { improve } from '../src/hillclimb/improve.js';
import { openProposals } from '../src/hillclimb/port.js';
import { summariseRollups } from '../src/core/budget/ledger.js';
import { StateIndex } from '../src/state/index-db.js';
import { statePaths } from '../src/state/paths.js';
import { SpendLedger } from '../src/state/spend-ledger.js';

const RUNS = 3;
const LOOP = 'tidy-comments';
const haiku = pricerFor('anthropic');
const price = (_model: string, usage: TokenUsage): number | null => haiku('claude-haiku-4-5', usage);
const sandbox = { fallback: 'unconfined' } as const;

export interface ArmFigures {
  runs: number;
  verified: number;
  usd: number;
  usdPerVerified: number | null;
}

export interface HillclimbBenchResult {
  before: ArmFigures;
  after: ArmFigures;
  proposal: { status: string; effect: string; usd: number | null; ms: number };
  /** What `loops spend` shows after it all: the loop's runs and hill-climbing's own table. */
  spend: { runs: number; analystUsd: number; evaluationUsd: number };
  met: boolean;
}

async function measure(dir: string): Promise<ArmFigures> {
  const supervisor = await Supervisor.open(dir, { env: {}, maxRetries: 0, price, sandbox });
  try {
    let verified = 0;
    let usd = 0;
    for (let i = 0; i < RUNS; i++) {
      const result = await supervisor.start(LOOP, 'bench');
      if (result.outcome === 'verified') verified += 1;
      usd += result.spend.usd;
    }
    return { runs: RUNS, verified, usd, usdPerVerified: verified === 0 ? null : usd / verified };
  } finally {
    await supervisor.shutdown();
  }
}

export async function runHillclimbBench(): Promise<HillclimbBenchResult> {
  const dir = await createDemoRepo();
  try {
    const before = await measure(dir);
    const started = performance.now();
    const made = await improve({ repoRoot: dir, loop: LOOP, env: {}, price, sandbox });
    const ms = performance.now() - started;
    if (!made.ok) throw new Error(`no proposal: ${made.reason}`);
    const accepted = await openProposals(dir).accept(made.proposal.id);
    if (!accepted.ok) throw new Error(`not accepted: ${accepted.reason}`);
    const after = await measure(dir);
    const p = made.proposal;
    const paths = statePaths(dir);
    const report = summariseRollups(
      await SpendLedger.open(paths, { writable: false }).allRollups(LOOP),
      (await StateIndex.open(paths.index)).outcomes(LOOP),
    );
    return {
      before,
      after,
      proposal: { status: p.status, effect: p.effect, usd: p.costUsd, ms },
      spend: {
        runs: report.loops[0]?.runs ?? 0,
        analystUsd: report.hillclimb?.analyst.usd ?? 0,
        evaluationUsd: report.hillclimb?.evaluation.usd ?? 0,
      },
      met: p.status === 'pending' && after.verified > before.verified,
    };
  } finally {
    await rm(path.resolve(dir), { recursive: true, force: true });
  }
}

const money = (usd: number | null): string => (usd === null ? '—' : `$${usd.toFixed(4)}`);

export function formatHillclimbBench(r: HillclimbBenchResult): string {
  const row = (name: string, a: ArmFigures): string =>
    `  ${name.padEnd(7)} verified ${a.verified}/${a.runs}  spent ${money(a.usd)}  $/verified ${money(a.usdPerVerified)}`;
  const ratio =
    r.before.usdPerVerified !== null && r.after.usdPerVerified !== null
      ? `${(r.after.usdPerVerified / r.before.usdPerVerified).toFixed(2)}×`
      : 'n/a (none verified before)';
  return [
    `hill-climb on ${LOOP} (scripted, priced as claude-haiku-4-5), ${RUNS} runs per side:`,
    row('before', r.before),
    row('after', r.after),
    `  $/verified after/before: ${ratio}`,
    `  proposal: ${r.proposal.status}, ${r.proposal.effect}; analysis + evaluation cost ${money(r.proposal.usd)} in ${(r.proposal.ms / 1000).toFixed(1)} s`,
    `  loops spend: ${r.spend.runs} runs; hill-climb analyst ${money(r.spend.analystUsd)}, evaluation ${money(r.spend.evaluationUsd)} (not runs)`,
    `  goal (a pending proposal that raises the verified rate): ${r.met ? 'met' : 'NOT met'}`,
  ].join('\n');
}
