/**
 * The goal trigger: a loop with `trigger.goal` keeps going until its work is verified. A run of it
 * that ends unverified on its own budget (iterations, tool calls, dollars, minutes) starts again from
 * its memory (MEMORY.md is per loop, so the next run reads what the last one learned), after a back-off
 * that doubles after each unverified run up to ten times `backoff`, until a run is verified or the
 * goal's own budget is spent: `runs` (the first included), `usd` across its runs, `hours` since its
 * first run.
 *
 * What does not restart: a run a person stopped, a stall-stop (the detector judged it stuck; more of
 * the same would not help), and a failed run (a bad definition, a missing key, a provider that kept
 * failing: a person must fix something first). Those end the goal with the reason.
 *
 * A goal begins with any start that is not its own restart (a person's, a schedule's, a webhook's):
 * that start resets the counts. A goal that ran out is resumed with the counts it has by giving it more
 * budget in LOOP.md (the reload sees the larger budget and restarts it), or begun again by starting the
 * loop. Progress is kept in `state/NAME/goal.json`, so a daemon that restarts continues its goals.
 */
import { z } from 'zod';
import type { GoalProgress } from '../core/control.js';
import type { JobContext, SupervisorJob } from '../core/jobs.js';
import type { LoopEvent } from '../core/events.js';
import { goalSchema, type LoopDefinition } from '../core/definition/schema.js';
import type { TriggerContext } from '../core/trigger-context.js';
import { MAX_TIMER_MS } from '../core/definition/checks.js';
import { fireStart, messageOf } from './fire.js';
import { WriteQueue, readTriggerState, triggerFile, writeTriggerState } from './trigger-state.js';

const goalStateSchema = z.object({
  state: z.enum(['active', 'met', 'spent', 'ended']),
  /** The goal's first run: its restarts name it in their context. */
  first: z.string(),
  since: z.string(),
  runs: z.number().int().nonnegative(),
  usd: z.number().nonnegative(),
  /** The goal's run in flight (or queued to start), when there is one. */
  current: z.string().optional(),
  /** When the next run starts, while a back-off is waiting. */
  nextAt: z.string().optional(),
  reason: z.string(),
});
type GoalState = z.infer<typeof goalStateSchema>;

export interface GoalBudget {
  runs: number;
  usd: number | null;
  hours: number | null;
  backoff: number;
}

export function goalBudget(def: LoopDefinition): GoalBudget | undefined {
  const goal = def.trigger.goal;
  if (goal === undefined) return undefined;
  const g = goal === true ? goalSchema.parse({}) : goal;
  return { runs: g.runs, usd: g.usd ?? null, hours: g.hours ?? null, backoff: g.backoff };
}

/** Seconds before the goal's next run, after `unverified` unverified runs: doubling, capped at 10×. */
export function backoffSeconds(backoff: number, unverified: number): number {
  return Math.min(backoff * 2 ** Math.max(unverified - 1, 0), backoff * 10);
}

/** Why the goal's budget allows no more runs, or undefined while it does. */
export function spentReason(state: GoalState, budget: GoalBudget, now: number): string | undefined {
  if (state.runs >= budget.runs) return `spent: ${state.runs} of ${budget.runs} runs, none verified`;
  if (budget.usd !== null && state.usd >= budget.usd)
    return `spent: $${state.usd.toFixed(2)} of $${budget.usd.toFixed(2)}, none verified`;
  if (budget.hours !== null && now - Date.parse(state.since) >= budget.hours * 3_600_000)
    return `spent: ${budget.hours} hour(s) since the first run, none verified`;
  return undefined;
}

export interface GoalJobOptions {
  now?: () => number;
}

export class GoalJob implements SupervisorJob {
  readonly name = 'goal';
  private readonly goals = new Map<string, GoalState>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private ctx: JobContext | undefined;
  private writes: WriteQueue | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(options: GoalJobOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async start(ctx: JobContext): Promise<void> {
    this.ctx = ctx;
    this.writes = new WriteQueue((error) => ctx.reportError(error));
    for (const def of ctx.definitions()) {
      if (!goalBudget(def)) continue;
      const kept = await readTriggerState(triggerFile(ctx.paths, def.name, 'goal'), goalStateSchema, (e) =>
        ctx.reportError(e),
      );
      if (kept) this.goals.set(def.name, kept);
    }
    this.unsubscribe = ctx.subscribe((event) => this.observe(event));
    // A goal that was active when loops last stopped (its run stopped with it) goes on where it was.
    for (const [loop, state] of this.goals) {
      if (state.state !== 'active') continue;
      delete state.current;
      const wait = state.nextAt === undefined ? 0 : Math.max(Date.parse(state.nextAt) - this.now(), 0);
      this.schedule(loop, state, wait, 'continuing after loops restarted');
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  info(loop: string): { goal?: GoalProgress } {
    const state = this.goals.get(loop);
    const def = this.ctx?.definitions().find((d) => d.name === loop);
    const budget = def ? goalBudget(def) : undefined;
    if (!state || !budget) return {};
    return { goal: progressOf(state, budget) };
  }

  /** Waits for the goals' records to reach the disk (tests). */
  settled(): Promise<void> {
    return this.writes?.settled() ?? Promise.resolve();
  }

  private observe(event: LoopEvent): void {
    if (this.stopped) return;
    try {
      if (event.type === 'loops.changed') this.reloaded();
      else if ((event.source ?? 'run') === 'run' && event.type === 'run.started') this.runStarted(event);
      else if ((event.source ?? 'run') === 'run' && event.type === 'run.ended') this.runEnded(event);
    } catch (error) {
      this.ctx?.reportError(new Error(`goal: ${messageOf(error)}`));
    }
  }

  private budgetOf(loop: string): GoalBudget | undefined {
    const def = this.ctx?.definitions().find((d) => d.name === loop);
    return def ? goalBudget(def) : undefined;
  }

  private runStarted(event: Extract<LoopEvent, { type: 'run.started' }>): void {
    if (!this.budgetOf(event.loop)) return;
    const state = this.goals.get(event.loop);
    const context = event.context;
    if (state && context?.kind === 'goal' && context.goal?.first === state.first) {
      state.current = event.run;
      delete state.nextAt;
      state.reason = `run ${state.runs} in flight`;
      this.changed(event.loop, state);
      return;
    }
    // Any other start begins the goal afresh (a person's start is how a finished goal is begun again).
    this.cancel(event.loop);
    const fresh: GoalState = {
      state: 'active',
      first: event.run,
      since: event.time,
      runs: 1,
      usd: 0,
      current: event.run,
      reason: 'run 1 in flight',
    };
    this.goals.set(event.loop, fresh);
    this.changed(event.loop, fresh);
  }

  private runEnded(event: Extract<LoopEvent, { type: 'run.ended' }>): void {
    const budget = this.budgetOf(event.loop);
    const state = this.goals.get(event.loop);
    if (!budget || !state || state.current !== event.run || state.state !== 'active') return;
    delete state.current;
    state.usd += event.spend.usd;
    const run = `run ${state.runs} (${event.run})`;
    switch (event.outcome) {
      case 'verified':
        state.state = 'met';
        state.reason = `verified by ${run}`;
        break;
      case 'stopped':
        state.state = 'ended';
        state.reason = `${run} was stopped (${event.reason}): start the loop to begin the goal again`;
        break;
      case 'stalled':
        state.state = 'ended';
        state.reason = `${run} was stopped as stalled (${event.reason}): not restarted; start the loop to try again`;
        break;
      case 'failed':
        state.state = 'ended';
        state.reason = `${run} failed (${event.reason}): not restarted; fix it and start the loop`;
        break;
      case 'budget': {
        const spent = spentReason(state, budget, this.now());
        if (spent !== undefined) {
          state.state = 'spent';
          state.reason = `${spent}: give the goal more in LOOP.md to resume it`;
          break;
        }
        const wait = backoffSeconds(budget.backoff, state.runs) * 1000;
        this.schedule(event.loop, state, wait, `${run} ended unverified (${event.reason})`);
        return;
      }
    }
    this.changed(event.loop, state);
  }

  /** A LOOP.md edit: a spent goal given more budget resumes; a loop no longer a goal ends its goal. */
  private reloaded(): void {
    for (const [loop, state] of this.goals) {
      const budget = this.budgetOf(loop);
      if (!budget) {
        if (state.state === 'active') {
          this.cancel(loop);
          state.state = 'ended';
          state.reason = 'the goal was taken out of LOOP.md';
          delete state.nextAt;
          this.changed(loop, state);
        }
        continue;
      }
      if (state.state === 'spent' && spentReason(state, budget, this.now()) === undefined) {
        state.state = 'active';
        this.schedule(loop, state, 0, 'resumed with more budget');
      }
    }
  }

  private schedule(loop: string, state: GoalState, waitMs: number, why: string): void {
    this.cancel(loop);
    state.nextAt = new Date(this.now() + waitMs).toISOString();
    state.reason = waitMs > 0 ? `${why}; next run in ${Math.round(waitMs / 1000)}s` : why;
    this.changed(loop, state);
    const timer = setTimeout(() => this.wake(loop, state), Math.min(waitMs, MAX_TIMER_MS));
    timer.unref?.();
    this.timers.set(loop, timer);
  }

  private wake(loop: string, state: GoalState): void {
    this.timers.delete(loop);
    const ctx = this.ctx;
    const budget = this.budgetOf(loop);
    if (this.stopped || !ctx || this.goals.get(loop) !== state || state.state !== 'active') return;
    if (!budget) return;
    if (state.nextAt !== undefined && Date.parse(state.nextAt) > this.now()) {
      // A back-off longer than a timer can hold is waited in steps.
      const rest = Math.min(Date.parse(state.nextAt) - this.now(), MAX_TIMER_MS);
      const timer = setTimeout(() => this.wake(loop, state), rest);
      timer.unref?.();
      this.timers.set(loop, timer);
      return;
    }
    const spent = spentReason(state, budget, this.now());
    if (spent !== undefined) {
      state.state = 'spent';
      state.reason = `${spent}: give the goal more in LOOP.md to resume it`;
      delete state.nextAt;
      return this.changed(loop, state);
    }
    const attempt = state.runs + 1;
    const context: TriggerContext = {
      kind: 'goal',
      detail: `goal run ${attempt} of at most ${budget.runs}: the last run ended unverified; go on from memory`,
      at: new Date(this.now()).toISOString(),
      goal: { attempt, first: state.first },
    };
    state.runs = attempt;
    delete state.nextAt;
    const reply = fireStart(ctx, loop, context, {
      overlap: 'queue',
      label: `goal ${attempt}/${budget.runs}`,
    });
    if (reply.status === 'started' || reply.status === 'queued') {
      // A queued start becomes the goal's run when its run.started names the goal.
      if (reply.run !== undefined) state.current = reply.run;
      state.reason =
        reply.status === 'queued' ? `run ${attempt} queued: ${reply.reason}` : `run ${attempt} in flight`;
    } else {
      state.runs = attempt - 1;
      state.state = 'ended';
      state.reason = `run ${attempt} could not start (${reply.reason}): start the loop to try again`;
    }
    this.changed(loop, state);
  }

  private cancel(loop: string): void {
    const timer = this.timers.get(loop);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(loop);
  }

  private changed(loop: string, state: GoalState): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const budget = this.budgetOf(loop);
    if (budget) ctx.emit('trigger', loop, { type: 'goal.progress', progress: progressOf(state, budget) });
    const file = triggerFile(ctx.paths, loop, 'goal');
    const copy = { ...state };
    this.writes?.push(() => writeTriggerState(file, copy));
  }
}

function progressOf(state: GoalState, budget: GoalBudget): GoalProgress {
  return {
    state: state.state,
    runs: state.runs,
    maxRuns: budget.runs,
    usd: state.usd,
    maxUsd: budget.usd,
    since: state.since,
    ...(state.nextAt === undefined ? {} : { nextAt: state.nextAt }),
    reason: state.reason,
  };
}
