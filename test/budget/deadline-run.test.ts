/**
 * One clock bounds a whole run: whatever is in flight when the minutes cap runs out (a hung model
 * request, a sleeping `run` tool, a sleeping grader, a command agent, a CLI agent's session) is
 * stopped, and the run ends `budget` on its minutes cap; a person's stop ends each of them too, with
 * `stopped`. A command agent that prints without end is stopped at its tokens cap, and its trace stays
 * small. Every run ends with exactly one run.ended, a second stop included.
 */
import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoopEvent } from '../../src/core/events.js';
import { RunControl } from '../../src/core/run/control.js';
import { readTrace } from '../../src/state/trace.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { makeCliFixture, type CliFixture } from '../models/cli-fixture.js';
import { startFakeAnthropic } from '../support/fake-anthropic.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { runDirect, type DirectRun } from './direct-run.js';

let repo: TestRepo;
let cli: CliFixture | undefined;
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  repo = await makeRepo();
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await cli?.cleanup();
  cli = undefined;
  await repo.cleanup();
});

/** A deadline short enough for a test (1.2 s), far shorter than anything the run waits on. */
const SHORT = '{ minutes: 0.02 }';
const LONG = '{ minutes: 600 }';

function loopMd(name: string, agent: string, budget: string, verify = ''): string {
  return `---\nname: ${name}\nagent: ${agent}\n${verify}budget: ${budget}\n---\nDo the task.\n`;
}

/** A command agent answers in plain text, so it cannot host the default checker: it gets a grader. */
const VERIFY_TRUE = 'verify:\n  - command: "true"\n';

type Ending = 'deadline' | 'stop';

/**
 * Runs the loop; with `stop`, a person stops it (twice, as a second Ctrl-C would) once `when` sees
 * the moment the run is waiting on what the test is about.
 */
async function run(
  loop: string,
  ending: Ending,
  when: (event: LoopEvent) => boolean,
  extra: Parameters<typeof runDirect>[2] = {},
): Promise<DirectRun> {
  const control = new RunControl();
  const done = await runDirect(repo.dir, loop, {
    ...extra,
    control,
    onEvent: (event) => {
      if (ending === 'stop' && when(event)) {
        // After the event is delivered, so the run is in the state the event announced.
        setImmediate(() => {
          control.stop();
          control.stop();
        });
      }
    },
  });
  const trace = await readTrace(done.result.tracePath);
  expect(trace.filter((e) => e.type === 'run.ended')).toHaveLength(1);
  return done;
}

function expectEnded(done: DirectRun, ending: Ending): void {
  if (ending === 'deadline') {
    expect(done.result.outcome).toBe('budget');
    expect(done.result.budget?.cap).toBe('minutes');
  } else {
    expect(done.result.outcome).toBe('stopped');
  }
}

const ENDINGS: Ending[] = ['deadline', 'stop'];

describe.each(ENDINGS)('ended by the %s', (ending) => {
  const budget = ending === 'deadline' ? SHORT : LONG;

  it.each(['anthropic', 'openai'] as const)('a %s request that hangs before any answer', async (provider) => {
    let env: NodeJS.ProcessEnv;
    if (provider === 'anthropic') {
      const fake = await startFakeAnthropic(() => ({ silent: true }));
      closers.push(() => fake.close());
      env = { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url };
    } else {
      const fake = await startFakeOpenAI(() => ({ silent: true }));
      closers.push(() => fake.close());
      env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url };
    }
    await repo.addLoop('hung', loopMd('hung', `{ provider: ${provider} }`, budget));
    const done = await run('hung', ending, (e) => e.type === 'model.request', { env, maxRetries: 2 });
    expectEnded(done, ending);
    // Neither "could not reach" nor a retry: the request was cut short, not failed.
    expect(done.events.filter((e) => e.type === 'run.error')).toEqual([]);
    expect(done.events.filter((e) => e.type === 'provider.retry')).toEqual([]);
  });

  it('a sleeping run tool', async () => {
    await repo.addLoop(
      'sleepy-tool',
      loopMd('sleepy-tool', '{ provider: scripted, tools: [run] }', budget),
      'turns:\n  - repeat: true\n    text: Waiting.\n    tool_calls:\n      - { name: run, input: { command: "sleep 600" } }\n',
    );
    const done = await run('sleepy-tool', ending, (e) => e.type === 'tool.call');
    expectEnded(done, ending);
    const results = done.events.filter((e) => e.type === 'tool.result');
    expect(results).toHaveLength(1);
  });

  it('a sleeping grader', async () => {
    await repo.addLoop(
      'sleepy-grader',
      loopMd(
        'sleepy-grader',
        '{ provider: scripted, tools: [list_files] }',
        budget,
        'verify:\n  - command: sleep 600\n    timeout: 3600\n',
      ),
      'turns:\n  - repeat: true\n    text: Done for now.\n',
    );
    const done = await run('sleepy-grader', ending, (e) => e.type === 'grader.started', { graders: true });
    expectEnded(done, ending);
    const verdicts = done.events.filter((e) => e.type === 'grader.result');
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]!.type === 'grader.result' && verdicts[0]!.passed).toBe(false);
  });

  it('a command agent that never ends', async () => {
    cli = await makeCliFixture({ 'fake-agent': 'fake-agent.mjs' });
    await repo.addLoop(
      'stuck-cmd',
      loopMd('stuck-cmd', '{ provider: command, command: [fake-agent] }', budget, VERIFY_TRUE),
    );
    // It prints two lines, then hangs.
    const done = await run('stuck-cmd', ending, (e) => e.type === 'model.delta', { env: cli.env('hang') });
    expectEnded(done, ending);
    const { pid } = await cli.started();
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it("a CLI agent's session that goes silent", async () => {
    cli = await makeCliFixture({ claude: 'fake-claude.mjs' });
    await repo.addLoop('stuck-claude', loopMd('stuck-claude', '{ provider: claude-code }', budget));
    // It makes one tool call, then says nothing more.
    const done = await run('stuck-claude', ending, (e) => e.type === 'tool.call', { env: cli.env('hang') });
    expectEnded(done, ending);
    expect(done.events.filter((e) => e.type === 'tool.call')).toHaveLength(1);
  });
});

describe('a second stop during a retry wait', () => {
  it('still ends the run with one run.ended', async () => {
    const fake = await startFakeOpenAI(() => ({
      error: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfter: '3600' },
    }));
    closers.push(() => fake.close());
    await repo.addLoop('limited', loopMd('limited', '{ provider: openai }', '{ minutes: 600 }'));
    const done = await run('limited', 'stop', (e) => e.type === 'provider.retry', {
      env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url },
      maxRetries: 2,
    });
    expect(done.result.outcome).toBe('stopped');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('a command agent that prints 20 MB', () => {
  it('is stopped at its tokens cap, and its trace stays small', async () => {
    cli = await makeCliFixture({ 'fake-agent': 'fake-agent.mjs' });
    await repo.addLoop(
      'chatty',
      loopMd('chatty', '{ provider: command, command: [fake-agent] }', '{ tokens: 20000 }', VERIFY_TRUE),
    );
    const done = await run('chatty', 'deadline', () => false, { env: cli.env('flood') });

    expect(done.result.outcome).toBe('budget');
    expect(done.result.budget).toMatchObject({ cap: 'tokens', limit: 20_000 });
    // Counted as it streamed: stopped within a report's worth of the cap, not after 20 MB.
    const used = done.result.usage.input + done.result.usage.output;
    expect(used).toBeGreaterThanOrEqual(20_000);
    expect(used).toBeLessThan(21_000);
    const { size } = await stat(done.result.tracePath);
    expect(size).toBeLessThan(1_000_000);
    const { pid } = await cli.started();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
