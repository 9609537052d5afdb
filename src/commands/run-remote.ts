/**
 * `loops run NAME` while another loops owns the state folder: the owner is asked to start the run,
 * its events are printed as a local headless run prints them, and the exit status is the run's
 * outcome's. Ctrl-C asks the owner to stop the run. If the owner stops it (the owning screen quit,
 * the daemon got SIGTERM) the run ends `stopped` (exit 5); if the owner vanishes without a word (it
 * was killed) the run was interrupted, which the next owner records as failed (exit 1).
 */
import { existsSync } from 'node:fs';
import { formatProblem } from '../core/definition/problems.js';
import { loadLoop } from '../core/definition/load.js';
import { newCommandId } from '../core/control.js';
import { describeEventLine } from '../core/describe.js';
import { EXIT_BAD_DEFINITION, OUTCOME_EXIT_CODES, type EventOf, type LoopEvent } from '../core/events.js';
import type { RunResult } from '../core/run/run.js';
import { RemoteSupervisor } from '../daemon/client.js';
import { ownerName } from '../daemon/protocol.js';
import { statePaths } from '../state/paths.js';
import type { CommonOptions } from './index.js';
import { writeJobSummary } from './job-summary.js';
import { summaryJson, summaryText } from './run.js';

const EXIT_INTERRUPTED = OUTCOME_EXIT_CODES.failed;

export async function runRemote(name: string, socket: string, options: CommonOptions): Promise<number> {
  const port = await RemoteSupervisor.connect(socket, { client: 'run', subscribe: true });
  const err = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  try {
    const info = port.loops().find((l) => l.name === name);
    if (!info || info.problem !== undefined) {
      const loaded = await loadLoop(options.repo, name);
      if (!loaded.ok) for (const p of loaded.problems) err(formatProblem(p));
      else err(`loops run: the loops that owns state/ (pid ${port.owner.pid}) has no valid loop ${name}`);
      return EXIT_BAD_DEFINITION;
    }
    err(
      `loops: handing the run to loops (pid ${port.owner.pid}, the ${ownerName(port.owner.owner)} that owns state/)`,
    );
    const commandId = newCommandId();
    let runId: string | undefined;
    // Events of this loop's runs that arrive before we know which run is ours.
    const early: LoopEvent[] = [];
    let settle: ((ending: EventOf<'run.ended'> | string) => void) | undefined;
    const ended = new Promise<EventOf<'run.ended'> | string>((resolve) => {
      settle = resolve;
    });
    const show = (event: LoopEvent): void => {
      if (event.run !== runId) return;
      const line = describeEventLine(event);
      if (line) err(`[${event.loop} #${event.iteration}] ${line}`);
      if (event.type === 'run.ended') settle?.(event);
    };
    const own = (run: string): void => {
      if (runId !== undefined) return;
      runId = run;
      for (const event of early.splice(0)) show(event);
    };
    port.subscribe((event) => {
      if (event.type === 'command.replied' && event.id === commandId) {
        if (event.status === 'started' && event.target !== undefined) own(event.target);
        else if (event.status === 'refused') settle?.(`the owner refused: ${event.reason}`);
        return;
      }
      if (event.loop !== name) return;
      if (runId === undefined) early.push(event);
      else show(event);
    });
    port.onClose((reason) => settle?.(reason));
    const reply = await port.request({ type: 'start', id: commandId, loop: name, trigger: 'manual' });
    if (!reply.ok) {
      err(`loops run: ${name} not started: ${reply.reason}`);
      return EXIT_BAD_DEFINITION;
    }
    if (reply.status === 'started' && reply.run !== undefined) own(reply.run);
    else err(`loops: ${name} ${reply.status}: ${reply.reason}`);

    const onSignal = (): void => {
      err('\nloops: asking the owner to stop the run');
      if (runId !== undefined) port.send({ type: 'stop', loop: name, run: runId });
      else port.send({ type: 'stop', loop: name });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const ending = await ended;
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (typeof ending === 'string') {
      err(`loops: ${ending}`);
      if (runId === undefined) return EXIT_BAD_DEFINITION;
      err(
        `loops: run ${runId} of ${name} did not record its end; the next loops records it as failed (interrupted)`,
      );
      return EXIT_INTERRUPTED;
    }
    const paths = statePaths(options.repo);
    const result: RunResult = {
      run: ending.run,
      outcome: ending.outcome,
      reason: ending.reason,
      iterations: ending.iterations,
      toolCalls: ending.toolCalls,
      usage: ending.usage,
      spend: ending.spend,
      branch: ending.branch,
      worktree: ending.worktree,
      ...(ending.budget ? { budget: ending.budget } : {}),
      tracePath: paths.trace(name, ending.run),
      summaryPath: paths.runSummary(name, ending.run),
    };
    process.stdout.write(
      options.json ? `${JSON.stringify(summaryJson(name, result))}\n` : summaryText(name, result),
    );
    if (process.env.GITHUB_STEP_SUMMARY) {
      // The owner writes the summary just after run.ended.
      await waitFor(() => existsSync(result.summaryPath), 5000);
      await writeJobSummary(process.env, result.summaryPath, (m) => err(`loops: ${m}`));
    }
    return OUTCOME_EXIT_CODES[ending.outcome];
  } finally {
    port.close();
  }
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
