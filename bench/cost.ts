/**
 * The cost benchmark: the same 20-iteration task (cost-task.ts) sent two ways through the real
 * AnthropicProvider to a local fake Anthropic API that applies the prompt-caching rules
 * (test/support/prompt-cache.ts), billed with the price table the ledger uses.
 *
 * - naive: one conversation for the whole run, the whole history re-sent on every call, no cache
 *   markers (what an agent loop does when nothing is done about cost).
 * - loops default: a fresh conversation each iteration (task + skills in the system prompt, memory and
 *   feedback in the first user message), with the cache markers the AnthropicProvider sends.
 * - history + cache (for reference, no goal): the naive conversation with the cache markers, to show
 *   how much of the saving is caching and how much is starting each iteration afresh.
 *
 * Time is simulated (10 s a model call, 30 s of grading between iterations), so the 5-minute cache
 * lifetime applies as it would in a real run without the benchmark waiting for it.
 */
import { emptyUsage, addUsage, type TokenUsage } from '../src/core/events.js';
import { priceCall } from '../src/core/budget/prices.js';
import { AnthropicProvider } from '../src/models/anthropic.js';
import type { Message } from '../src/models/provider.js';
import { countTokens } from '../src/models/tokens.js';
import { startFakeAnthropic } from '../test/support/fake-anthropic.js';
import { PromptCache } from '../test/support/prompt-cache.js';
import {
  CALLS_PER_ITERATION,
  ITERATIONS,
  MODEL,
  SYSTEM,
  TOOLS,
  feedback,
  progressLine,
  reply,
  toolOutput,
} from './cost-task.js';

export type Strategy = 'naive' | 'loops default' | 'history + cache';

export interface StrategyResult {
  strategy: Strategy;
  calls: number;
  usage: TokenUsage;
  usd: number;
}

export interface CostBenchResult {
  naive: StrategyResult;
  loops: StrategyResult;
  historyCached: StrategyResult;
  /** loops default's dollars over naive's. */
  ratio: number;
  goal: number;
  met: boolean;
}

export const GOAL_RATIO = 0.25;

const MODEL_CALL_MS = 10_000;
const GRADING_MS = 30_000;

export async function runCostBench(): Promise<CostBenchResult> {
  const naive = await runStrategy('naive');
  const loops = await runStrategy('loops default');
  const historyCached = await runStrategy('history + cache');
  const ratio = loops.usd / naive.usd;
  return { naive, loops, historyCached, ratio, goal: GOAL_RATIO, met: ratio <= GOAL_RATIO };
}

async function runStrategy(strategy: Strategy): Promise<StrategyResult> {
  let now = 0;
  let served = 0;
  const fake = await startFakeAnthropic(
    () => {
      const iteration = Math.floor(served / CALLS_PER_ITERATION) + 1;
      const { text, toolCalls } = reply(iteration, served % CALLS_PER_ITERATION);
      served++;
      const output = countTokens(text) + (toolCalls.length > 0 ? countTokens(JSON.stringify(toolCalls)) : 0);
      return { text, toolCalls, usage: { output_tokens: output } };
    },
    { cache: new PromptCache({ now: () => now, minTokens: 1024 }) },
  );
  const provider = new AnthropicProvider({
    env: { ANTHROPIC_API_KEY: 'bench-key' },
    baseUrl: fake.url,
    maxRetries: 0,
    cache: strategy !== 'naive',
  });

  let usage = emptyUsage();
  let usd = 0;
  let calls = 0;
  const history: Message[] = [];
  const memory: string[] = [];
  let lastFeedback = '';
  try {
    for (let iteration = 1; iteration <= ITERATIONS; iteration++) {
      now += GRADING_MS;
      const opening = openingMessage(strategy, iteration, memory, lastFeedback);
      const messages: Message[] = strategy === 'loops default' ? [] : history;
      messages.push({ role: 'user', content: [{ type: 'text', text: opening }] });
      for (let step = 0; step < CALLS_PER_ITERATION; step++) {
        now += MODEL_CALL_MS;
        const response = await provider.complete({
          model: MODEL,
          system: SYSTEM,
          messages,
          tools: TOOLS,
          maxTokens: 4096,
          step: 'work',
        });
        calls++;
        usage = addUsage(usage, response.usage);
        const price = priceCall('anthropic', response.model, response.usage);
        if (price === null) throw new Error(`the price table has no price for ${response.model}`);
        usd += price;
        messages.push({
          role: 'assistant',
          content: [
            { type: 'text', text: response.text },
            ...response.toolCalls.map((c) => ({
              type: 'tool_use' as const,
              id: c.id,
              name: c.name,
              input: c.input,
            })),
          ],
        });
        const [call] = response.toolCalls;
        if (call) {
          messages.push({
            role: 'user',
            content: [
              {
                type: 'tool_result',
                toolUseId: call.id,
                content: toolOutput(iteration, step),
                isError: false,
              },
            ],
          });
        }
      }
      memory.push(progressLine(iteration));
      lastFeedback = feedback(iteration);
    }
  } finally {
    await fake.close();
  }
  return { strategy, calls, usage, usd };
}

/** The iteration's first user message, laid out as loops' context assembly does. */
function openingMessage(
  strategy: Strategy,
  iteration: number,
  memory: string[],
  lastFeedback: string,
): string {
  const sections: string[] = [];
  // The naive loop keeps the whole conversation, so it carries no memory of its own.
  if (strategy === 'loops default' && memory.length > 0) {
    sections.push(
      `# Memory (carried between iterations)\n\nProgress so far:\n${memory.map((m) => `- ${m}`).join('\n')}`,
    );
  }
  if (lastFeedback !== '')
    sections.push(`# Feedback from the graders on your last iteration\n\n${lastFeedback}`);
  sections.push(`This is iteration ${iteration} of at most ${ITERATIONS}. Work on the task now.`);
  return sections.join('\n\n');
}

export function formatCostBench(result: CostBenchResult): string {
  const rows = [result.naive, result.loops, result.historyCached].map((r) => [
    r.strategy,
    String(r.calls),
    int(r.usage.input),
    int(r.usage.cacheRead),
    int(r.usage.cacheWrite),
    int(r.usage.input + r.usage.cacheRead + r.usage.cacheWrite),
    int(r.usage.output),
    `$${r.usd.toFixed(4)}`,
  ]);
  const header = [
    'strategy',
    'calls',
    'uncached in',
    'cache read',
    'cache write',
    'total in',
    'output',
    'USD',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const totalIn = (r: StrategyResult): number => r.usage.input + r.usage.cacheRead + r.usage.cacheWrite;
  return [
    `cost: ${ITERATIONS} iterations × ${CALLS_PER_ITERATION} calls, ${MODEL}, fake Anthropic API with prompt caching`,
    line(header),
    ...rows.map(line),
    `input tokens sent, default/naive: ${(totalIn(result.loops) / totalIn(result.naive)).toFixed(3)}`,
    `dollars, history + cache/naive: ${(result.historyCached.usd / result.naive.usd).toFixed(3)} (for reference)`,
    `dollars, default/naive: ${result.ratio.toFixed(3)} (goal ≤ ${result.goal}): ${result.met ? 'met' : 'NOT met'}`,
  ].join('\n');
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}
