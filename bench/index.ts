/**
 * Runs every benchmark and prints its figures (`npm run bench`). Each one compares against a baseline
 * run in the same process and says whether its goal is met; the exit status is 1 when one is not.
 */
import { formatCostBench, runCostBench } from './cost.js';
import { formatSandboxBench, runSandboxBench } from './sandbox.js';
import { formatStopBench, runStopBench } from './stop.js';
import { formatUiBench, runUiBench } from './ui.js';
import { formatFirstFrameBench, runFirstFrameBench } from './first-frame.js';
import { formatLedgerBench, runLedgerBench } from './ledger.js';
import { formatKillStress, runKillStress } from './kill-stress.js';
import { formatHillclimbBench, runHillclimbBench } from './hillclimb.js';
import { formatStartupBench, runStartupBench } from './startup.js';
import { formatStepCostBench, runStepCostBench } from './cost-steps.js';
import { formatConcurrencyBench, runConcurrencyBench } from './concurrency.js';

// `npm run bench -- --kills 100` for the full kill stress; the default is a quick sample.
const killsAt = process.argv.indexOf('--kills');
const kills = killsAt === -1 ? 5 : Number(process.argv[killsAt + 1] ?? 5);

const benches: Array<{ name: string; run: () => Promise<{ text: string; met: boolean }> }> = [
  {
    name: 'cost',
    run: async () => {
      const result = await runCostBench();
      return { text: formatCostBench(result), met: result.met };
    },
  },
  {
    name: 'cost-steps',
    run: () => {
      const result = runStepCostBench();
      return Promise.resolve({ text: formatStepCostBench(result), met: result.met });
    },
  },
  {
    name: 'sandbox',
    run: async () => {
      const result = await runSandboxBench();
      return { text: formatSandboxBench(result), met: result.met };
    },
  },
  {
    name: 'stop',
    run: async () => {
      const result = await runStopBench();
      return { text: formatStopBench(result), met: result.met };
    },
  },
  {
    name: 'ui',
    run: async () => {
      const result = await runUiBench();
      return { text: formatUiBench(result), met: result.met };
    },
  },
  {
    name: 'startup',
    run: async () => {
      const result = await runStartupBench();
      return { text: formatStartupBench(result), met: result.met };
    },
  },
  {
    name: 'first-frame',
    run: () => {
      const result = runFirstFrameBench();
      return Promise.resolve({ text: formatFirstFrameBench(result), met: result.met });
    },
  },
  {
    name: 'ledger',
    run: async () => {
      const result = await runLedgerBench(3);
      return { text: formatLedgerBench(result), met: result.met };
    },
  },
  {
    name: 'hillclimb',
    run: async () => {
      const result = await runHillclimbBench();
      return { text: formatHillclimbBench(result), met: result.met };
    },
  },
  {
    name: 'concurrency',
    run: async () => {
      const result = await runConcurrencyBench();
      return { text: formatConcurrencyBench(result), met: result.met };
    },
  },
  {
    name: 'kill-stress',
    run: async () => {
      const result = await runKillStress(kills);
      return { text: formatKillStress(result), met: result.failures.length === 0 };
    },
  },
];

let failed = 0;
for (const bench of benches) {
  const started = performance.now();
  const { text, met } = await bench.run();
  console.log(`${text}\n(${bench.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  if (!met) failed++;
}
console.log(`${process.version} on ${process.platform}/${process.arch}`);
if (failed > 0) process.exitCode = 1;
