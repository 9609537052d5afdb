/**
 * How long a stop takes to be honoured, in each state a run can be waiting in, and how far past the
 * minutes deadline work in flight runs: the time from `control.stop()` (or the deadline) to the call
 * returning. The baseline is one ordinary model call against the same fake server, measured in the
 * same run: a stop should take no longer than a few round trips, whatever the run was waiting on.
 *
 * The states: a model request in flight (a stream that hangs after its first delta) and a retry wait
 * (a 429 asking for an hour) with each API provider, through the real SDKs and ModelCaller; a `run`
 * tool sleeping; a command agent that hangs. Each is measured REPEAT times; the median is shown.
 */
import { BudgetTracker } from '../src/core/budget/caps.js';
import { loopFrontMatterSchema, type LoopDefinition } from '../src/core/definition/schema.js';
import { RunControl } from '../src/core/run/control.js';
import { createEmitter } from '../src/core/run/emitter.js';
import { ModelCaller } from '../src/core/run/model-caller.js';
import { AnthropicProvider } from '../src/models/anthropic.js';
import { CommandProvider } from '../src/models/command.js';
import { OpenAIProvider } from '../src/models/openai.js';
import type { ModelProvider } from '../src/models/provider.js';
import { runTool } from '../src/tools/run.js';
import { startFakeAnthropic, type FakeAnthropicReply } from '../test/support/fake-anthropic.js';
import { startFakeOpenAI, type FakeOpenAIReply } from '../test/support/fake-openai.js';

const REPEAT = 5;
/** Goal: a stop is honoured within this, in every state. */
export const GOAL_MS = 1_000;

export interface StopBenchRow {
  state: string;
  medianMs: number;
  /** Median over the baseline call's median. */
  ratio: number;
}

export interface StopBenchResult {
  baselineMs: number;
  rows: StopBenchRow[];
  met: boolean;
}

type Reply = FakeAnthropicReply & FakeOpenAIReply;

const CALL = {
  step: 'work' as const,
  system: 'You fix failing tests.',
  messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Fix them.' }] }],
};

function definition(minutes: number): LoopDefinition {
  const front = loopFrontMatterSchema.parse({ name: 'bench', budget: { minutes } });
  return { ...front, model: 'm', task: 't', dir: '/nowhere', file: '/nowhere/LOOP.md', skills: [] };
}

/** A ModelCaller with its own control and budget; `started` resolves when the state is reached. */
function caller(provider: ModelProvider, minutes = 600) {
  const def = definition(minutes);
  const control = new RunControl();
  const budget = new BudgetTracker(def.budget);
  let reached = (): void => undefined;
  const started = new Promise<void>((resolve) => (reached = resolve));
  const emitter = createEmitter('bench', 'r', (event) => {
    if (event.type === 'model.delta' || event.type === 'provider.retry') reached();
  });
  const model = new ModelCaller({
    provider,
    definition: def,
    budget,
    control,
    emitter,
    price: () => null,
    // Where a command agent runs; it writes nothing.
    worktree: process.cwd(),
  });
  return { model, control, budget, started };
}

async function median(measure: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) times.push(await measure());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** ms from stop() to the call's end, once `started` says the call is in the state measured. */
async function stopLatency(provider: ModelProvider): Promise<number> {
  const c = caller(provider);
  const pending = c.model.call(CALL);
  await c.started;
  const t0 = performance.now();
  c.control.stop();
  await pending;
  const ms = performance.now() - t0;
  c.budget.deadline.dispose();
  return ms;
}

/** ms the call runs past its deadline. */
async function deadlineOvershoot(provider: ModelProvider): Promise<number> {
  const c = caller(provider, 0.005);
  const due = performance.now() + c.budget.deadline.remainingMs();
  await c.model.call(CALL);
  return Math.max(0, performance.now() - due);
}

async function servers(reply: () => Reply) {
  const anthropic = await startFakeAnthropic(() => reply());
  const openai = await startFakeOpenAI(() => reply());
  return {
    providers: {
      anthropic: new AnthropicProvider({
        env: { ANTHROPIC_API_KEY: 'k' },
        baseUrl: anthropic.url,
        maxRetries: 2,
      }),
      openai: new OpenAIProvider({ env: { OPENAI_API_KEY: 'k' }, baseUrl: openai.url, maxRetries: 2 }),
    },
    close: () => Promise.all([anthropic.close(), openai.close()]),
  };
}

export async function runStopBench(): Promise<StopBenchResult> {
  const measured: Array<{ state: string; ms: number }> = [];

  const ok = await servers(() => ({ text: 'Done.' }));
  const baselineMs = await median(async () => {
    const c = caller(ok.providers.anthropic);
    const t0 = performance.now();
    await c.model.call(CALL);
    c.budget.deadline.dispose();
    return performance.now() - t0;
  });
  await ok.close();

  const hung = await servers(() => ({ text: 'Thinking for a long time', hang: true }));
  for (const [name, provider] of Object.entries(hung.providers)) {
    measured.push({
      state: `stop: ${name} request in flight`,
      ms: await median(() => stopLatency(provider)),
    });
  }
  for (const [name, provider] of Object.entries(hung.providers)) {
    measured.push({
      state: `deadline: ${name} request in flight (overshoot)`,
      ms: await median(() => deadlineOvershoot(provider)),
    });
  }
  await hung.close();

  const limited = await servers(() => ({
    error: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfter: '3600' },
  }));
  // An hour's wait fits in a 600-minute budget, so the call waits, until stopped.
  for (const [name, provider] of Object.entries(limited.providers)) {
    measured.push({
      state: `stop: ${name} retry wait (retry-after 1 h)`,
      ms: await median(() => stopLatency(provider)),
    });
  }
  await limited.close();

  measured.push({
    state: 'stop: run tool (sleep 600)',
    ms: await median(async () => {
      const controller = new AbortController();
      const ctx = {
        worktree: process.cwd(),
        runTimeoutMs: 600_000,
        outputCap: 1_000,
        protectedPaths: [],
        signal: controller.signal,
      };
      const pending = runTool.execute({ command: 'sleep 600' }, ctx);
      // Long enough for the shell to have started the sleep.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const t0 = performance.now();
      controller.abort();
      await pending;
      return performance.now() - t0;
    }),
  });

  const agent = new CommandProvider({
    command: ['sh', '-c', 'echo started; exec sleep 600'],
    env: process.env,
  });
  measured.push({ state: 'stop: command agent (hangs)', ms: await median(() => stopLatency(agent)) });

  const rows = measured.map(({ state, ms }) => ({ state, medianMs: ms, ratio: ms / baselineMs }));
  return { baselineMs, rows, met: rows.every((r) => r.medianMs <= GOAL_MS) };
}

export function formatStopBench(result: StopBenchResult): string {
  const width = Math.max(...result.rows.map((r) => r.state.length));
  const lines = [
    `stop latency (median of ${REPEAT}; baseline: one model call, ${result.baselineMs.toFixed(1)} ms)`,
    ...result.rows.map(
      (r) =>
        `  ${r.state.padEnd(width)}  ${r.medianMs.toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(2).padStart(6)}× baseline`,
    ),
    `every state within ${GOAL_MS} ms: ${result.met ? 'met' : 'NOT met'}`,
  ];
  return lines.join('\n');
}
