/**
 * The price of one model call, from @pydantic/genai-prices: a maintained price table with cache
 * read/write rates, 1-hour cache writes and long-context tiers, not a hand-typed list that goes stale.
 *
 * A model the table does not know is unpriced (null), never $0: a bill we cannot compute must stay
 * visible, so the spend report and the usd budget can say so.
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { TokenUsage } from '../events.js';

/** What ModelCaller calls for every response; the provider is fixed per run (see pricerFor). */
export type Pricer = (model: string, usage: TokenUsage) => number | null;

/**
 * The table's provider id for each of ours. The CLI agents bill as the API behind them; `command`
 * runs any CLI, so the table guesses the provider from the model name.
 */
const TABLE_PROVIDER: Readonly<Record<string, string>> = {
  anthropic: 'anthropic',
  'claude-code': 'anthropic',
  openai: 'openai',
  codex: 'openai',
};

/** Providers that never send a bill. */
const FREE_PROVIDERS: ReadonlySet<string> = new Set([
  // The scripted model is an offline script played back on this machine: there is no bill, so its
  // calls cost exactly $0 (they are priced, not unpriced), whatever model id the loop reports.
  'scripted',
]);

/**
 * The call's price in USD, or null when the model is not in the price table.
 *
 * Our TokenUsage counts uncached input apart from cache reads and writes (Anthropic's convention);
 * the table wants `input_tokens` to be the total input with the cache counts as parts of it (OpenAI's
 * convention), so the parts are added back. 1-hour cache writes are priced at their own rate: the
 * table has `cache_write_1h_tokens` (a part of `cache_write_tokens`) and a `cache_write_1h_mtok`
 * price for the models that offer it (2× input for Claude, against 1.25× for 5-minute writes).
 */
export function priceCall(provider: string, model: string, usage: TokenUsage, at?: Date): number | null {
  if (FREE_PROVIDERS.has(provider)) return 0;
  const counts = [usage.input, usage.output, usage.cacheRead, usage.cacheWrite, usage.cacheWrite1h ?? 0];
  // The table throws on impossible counts; a provider that reports them cannot be billed from them.
  if (!counts.every((n) => Number.isFinite(n) && n >= 0)) return null;
  const cacheWrite1h = Math.min(usage.cacheWrite1h ?? 0, usage.cacheWrite);
  const tableUsage: Record<string, number> = {
    input_tokens: usage.input + usage.cacheRead + usage.cacheWrite,
    output_tokens: usage.output,
  };
  if (usage.cacheRead > 0) tableUsage.cache_read_tokens = usage.cacheRead;
  if (usage.cacheWrite > 0) tableUsage.cache_write_tokens = usage.cacheWrite;
  if (cacheWrite1h > 0) tableUsage.cache_write_1h_tokens = cacheWrite1h;
  const providerId = TABLE_PROVIDER[provider];
  const result = calcPrice(tableUsage, model, {
    ...(providerId === undefined ? {} : { providerId }),
    ...(at === undefined ? {} : { timestamp: at }),
  });
  return result === null ? null : result.total_price;
}

/** The pricer for one run, whose provider is fixed. */
export function pricerFor(provider: string): Pricer {
  return (model, usage) => priceCall(provider, model, usage);
}

/**
 * Reports the first unpriced call of each model, once: the usd budget cannot be enforced for that
 * model, and the tokens budget is what still bounds it. Fed from the run's model.response events, so
 * it also sees calls a provider could only estimate (never priced).
 */
export function unpricedWarnings(
  limits: { usd: number; tokens: number },
  report: (message: string) => void,
): (model: string) => void {
  const reported = new Set<string>();
  return (model) => {
    if (reported.has(model)) return;
    reported.add(model);
    report(unpricedMessage(model, limits));
  };
}

export function unpricedMessage(model: string, limits: { usd: number; tokens: number }): string {
  return (
    `calls to model ${model} are unpriced (it is not in the price table, or its usage was only ` +
    `estimated), so the usd budget ($${limits.usd}) cannot be enforced for them; the tokens budget ` +
    `(${limits.tokens}) still applies: lower it to bound this loop, or use a model the table knows`
  );
}
