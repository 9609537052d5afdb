/**
 * What the cheap-step defaults save (issue 12 §6), priced with the ledger's own table: a memory
 * handoff of the iteration's transcript on the loop's model (read from its prompt cache) against the
 * small model (written to its cache), and what loops picks; a triage call on each. Deterministic.
 */
import { fileURLToPath } from 'node:url';
import { priceCall } from '../src/core/budget/prices.js';
import { HANDOFF_OUTPUT_TOKENS, summaryModel } from '../src/core/run/step-model.js';
import { loopFrontMatterSchema, type LoopDefinition } from '../src/core/definition/schema.js';
import type { TokenUsage } from '../src/core/events.js';

export interface StepCostRow {
  what: string;
  strong: number;
  small: number;
  chosen: string;
  chosenUsd: number;
}

function definition(provider: 'anthropic' | 'openai', model: string): LoopDefinition {
  const parsed = loopFrontMatterSchema.parse({ name: 'bench', agent: { provider } });
  return { ...parsed, model, task: '', dir: '/', file: '/LOOP.md', skills: [] };
}

const usage = (part: Partial<TokenUsage>): TokenUsage => ({
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite: 0,
  ...part,
});

export function runStepCostBench(): { rows: StepCostRow[]; met: boolean } {
  const rows: StepCostRow[] = [];
  for (const [provider, strong, small] of [
    ['anthropic', 'claude-sonnet-4-6', 'claude-haiku-4-5'],
    ['openai', 'gpt-5-mini', 'gpt-5-nano'],
  ] as const) {
    const def = definition(provider, strong);
    const price = (model: string, u: TokenUsage): number | null => priceCall(provider, model, u);
    for (const tokens of [2_000, 4_000, 10_000, 30_000, 100_000]) {
      const out = HANDOFF_OUTPUT_TOKENS;
      const onStrong = price(strong, usage({ cacheRead: tokens, output: out })) ?? NaN;
      const onSmall =
        price(
          small,
          usage(
            provider === 'anthropic' ? { cacheWrite: tokens, output: out } : { input: tokens, output: out },
          ),
        ) ?? NaN;
      const chosen = summaryModel(def, price, tokens * 4);
      rows.push({
        what: `${provider} handoff, ${tokens.toLocaleString('en-US')} tokens in`,
        strong: onStrong,
        small: onSmall,
        chosen,
        chosenUsd: chosen === small ? onSmall : onStrong,
      });
    }
    // Triage: a short prompt of its own (no shared prefix), a short verdict.
    const triage = usage({ input: 1_500, output: 100 });
    const t = { strong: price(strong, triage) ?? NaN, small: price(small, triage) ?? NaN };
    rows.push({ what: `${provider} triage, 1,500 in / 100 out`, ...t, chosen: small, chosenUsd: t.small });
  }
  // Met: loops' choice is never dearer than either model alone.
  const met = rows.every((r) => r.chosenUsd <= Math.min(r.strong, r.small) + 1e-12);
  return { rows, met };
}

export function formatStepCostBench(b: { rows: StepCostRow[]; met: boolean }): string {
  const usd = (n: number): string => `$${n.toFixed(5)}`;
  const lines = [
    'Cheap steps: a handoff or a triage call on the strong model, the small one, and what loops picks',
    '',
  ];
  lines.push('| call | strong model | small model | loops picks | saving |', '|---|---:|---:|---|---:|');
  for (const r of b.rows)
    lines.push(
      `| ${r.what} | ${usd(r.strong)} | ${usd(r.small)} | ${r.chosen} | ${(100 * (1 - r.chosenUsd / r.strong)).toFixed(0)}% |`,
    );
  lines.push('', `loops' pick is never dearer than either model: ${b.met ? 'met' : 'NOT met'}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = runStepCostBench();
  console.log(formatStepCostBench(result));
  if (!result.met) process.exitCode = 1;
}
