/**
 * Many runs at once. Loads the loops, owns the state folder (one writer), starts runs on command,
 * fans their events out to subscribers, and takes commands back through one entry point.
 */
import { loadAllLoops, type LoadResult } from './definition/load.js';
import { formatProblem } from './definition/problems.js';
import type { LoopDefinition } from './definition/schema.js';
import {
  newCommandId,
  type Command,
  type CommandReply,
  type LoopInfo,
  type SupervisorPort,
} from './control.js';
import type { EventListener, LoopEvent, Outcome, TokenUsage } from './events.js';
import { RunControl } from './run/control.js';
import { executeRun, type ResumePoint, type RunResult } from './run/run.js';
import { createGraders } from './verify/index.js';
import { createProvider } from '../models/factory.js';
import type { ModelProvider } from '../models/provider.js';
import { Worktrees } from '../workspace/worktrees.js';
import { ensureStateGitignore, newRunId, statePaths, type StatePaths } from '../state/paths.js';
import { StateIndex } from '../state/index-db.js';
import { lockStateDir, type StateLock } from '../state/lock.js';
import { ledgerFor, type SpendLedger } from '../state/spend-ledger.js';
import { migrateLegacyLedger } from '../state/migrate.js';
import { recoverInterrupted, type RecoveredRun } from '../state/recover.js';

export interface SupervisorOptions {
  /** Where API keys and base URLs come from; never written anywhere. */
  env?: NodeJS.ProcessEnv;
  /** Runs in flight across all loops. */
  maxConcurrent?: number;
  /** Wraps every provider (the demo paces the scripted model so a person can watch). */
  wrapProvider?: (provider: ModelProvider) => ModelProvider;
  price?: (model: string, usage: TokenUsage) => number | null;
  maxRetries?: number;
  /** Failures outside any run's record (e.g. the state folder became unwritable); never swallowed. */
  onError?: (error: unknown) => void;
}

interface ActiveRun {
  id: string;
  control: RunControl;
  done: Promise<RunResult>;
}

export class Supervisor implements SupervisorPort {
  private readonly listeners = new Set<EventListener>();
  private readonly active = new Map<string, ActiveRun[]>();
  private readonly lastOutcome = new Map<string, Outcome>();
  /** Instructions given to a loop with no run in flight: the next run starts with them. */
  private readonly pending = new Map<string, string[]>();
  private closed = false;
  /** Runs the last loops left unfinished (killed), closed as failed (interrupted) on this open. */
  recovered: RecoveredRun[] = [];

  private constructor(
    readonly repoRoot: string,
    readonly paths: StatePaths,
    private readonly worktrees: Worktrees,
    private readonly index: StateIndex,
    private readonly lock: StateLock,
    private definitions: Array<{ name: string; result: LoadResult }>,
    private readonly options: SupervisorOptions,
  ) {
    for (const { name } of definitions) {
      const last = index.lastRun(name);
      if (last && last.status !== 'running') this.lastOutcome.set(name, last.status);
    }
  }

  /** Opens a repository: checks git, takes the state lock, records crashed runs, prunes orphan worktrees. */
  static async open(repoRoot: string, options: SupervisorOptions = {}): Promise<Supervisor> {
    const worktrees = await Worktrees.open(repoRoot);
    const paths = statePaths(worktrees.repoRoot);
    // Losing the lock (another process took it) must not kill the runs mid-call: stop them gracefully.
    let self: Supervisor | undefined;
    const lock = await lockStateDir(paths.root, {
      onCompromised: (err) => {
        const report = options.onError ?? ((e: unknown) => process.emitWarning(String(e)));
        report(err);
        void self?.shutdown('another process took the state folder').catch(report);
      },
    });
    try {
      await ensureStateGitignore(paths.root);
      const index = await StateIndex.open(paths.index);
      // Holding the lock now: what is on disk is the truth, whatever this process read before.
      const ledger = ledgerFor(paths);
      ledger.forget();
      await migrateLegacyLedger(index, ledger);
      const recovered = await recoverInterrupted(paths, index, ledger);
      await worktrees.pruneOrphans();
      const definitions = await loadAllLoops(worktrees.repoRoot);
      self = new Supervisor(worktrees.repoRoot, paths, worktrees, index, lock, definitions, options);
      self.ledger = ledger;
      self.recovered = recovered;
      return self;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  loops(): LoopInfo[] {
    return this.definitions.map(({ name, result }) => {
      const lastOutcome = this.lastOutcome.get(name);
      if (!result.ok) {
        return {
          name,
          description: '',
          provider: '',
          model: '',
          trigger: '',
          problem: result.problems.map(formatProblem).join('\n'),
          ...(lastOutcome ? { lastOutcome } : {}),
        };
      }
      const d = result.definition;
      return {
        name,
        description: d.description,
        provider: d.agent.provider,
        model: d.model,
        trigger: describeTrigger(d),
        ...(lastOutcome ? { lastOutcome } : {}),
      };
    });
  }

  definition(name: string): LoopDefinition | undefined {
    const entry = this.definitions.find((d) => d.name === name);
    return entry?.result.ok ? entry.result.definition : undefined;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(command: Command): CommandReply {
    const id = command.id ?? newCommandId();
    const reply = (
      ok: boolean,
      status: CommandReply['status'],
      reason: string,
      run?: string,
    ): CommandReply => ({
      id,
      type: command.type,
      loop: command.loop,
      ok,
      status,
      reason,
      ...(run === undefined ? {} : { run }),
    });
    if (command.type === 'start') {
      const refusal = this.startRefusal(command.loop);
      if (refusal) return reply(false, 'refused', refusal);
      const runId = newRunId();
      void this.start(command.loop, command.trigger ?? 'manual', runId).catch((err: unknown) =>
        this.reportError(err),
      );
      return reply(true, 'started', `started run ${runId}`, runId);
    }
    const runs = this.runsOf(command.loop).filter((r) => command.run === undefined || r.id === command.run);
    if (command.run !== undefined && runs.length === 0)
      return reply(false, 'refused', `run ${command.run} of ${command.loop} is not in flight`);
    switch (command.type) {
      case 'stop':
        if (runs.length === 0) return reply(false, 'refused', `${command.loop} has no run in flight`);
        for (const run of runs) run.control.stop(command.reason);
        return reply(true, 'done', `stopping ${runs.length} run(s)`);
      case 'pause':
        if (runs.length === 0) return reply(false, 'refused', `${command.loop} has no run in flight`);
        for (const run of runs) run.control.pause();
        return reply(true, 'done', 'pausing at the next safe point');
      case 'resume':
        if (runs.length === 0) return reply(false, 'refused', `${command.loop} has no run in flight`);
        for (const run of runs) run.control.resume();
        return reply(true, 'done', 'resumed');
      case 'instruct':
        if (runs.length === 0) {
          if (!this.definition(command.loop))
            return reply(false, 'refused', `no valid loop named ${command.loop}`);
          this.pending.set(command.loop, [...(this.pending.get(command.loop) ?? []), command.text]);
          return reply(true, 'queued', 'kept for the next run of this loop');
        }
        for (const run of runs) run.control.instruct(command.text, command.now);
        return reply(
          true,
          'done',
          command.now ? 'interrupting with the instruction' : 'queued for the next iteration',
        );
      case 'approve':
      case 'deny':
        // Approvals arrive with the approval policy; until then nothing is ever waiting for one.
        return reply(false, 'refused', `no approval ${command.approvalId} is waiting`);
    }
  }

  isRunning(loop: string): boolean {
    return this.runsOf(loop).length > 0;
  }

  canStart(loop: string): boolean {
    return this.startRefusal(loop) === undefined;
  }

  /** Why a start of this loop would be refused now, or undefined when it may start. */
  startRefusal(loop: string): string | undefined {
    if (this.closed) return 'loops is shutting down';
    const entry = this.definitions.find((d) => d.name === loop);
    if (!entry) return `no loop named ${loop}`;
    if (!entry.result.ok) return `${loop} has a problem in its LOOP.md: run loops validate ${loop}`;
    if (this.runsOf(loop).length >= entry.result.definition.concurrency)
      return `${loop} is already running (concurrency ${entry.result.definition.concurrency})`;
    const inFlight = [...this.active.values()].reduce((n, runs) => n + runs.length, 0);
    const limit = this.options.maxConcurrent ?? 4;
    if (inFlight >= limit) return `${inFlight} runs are in flight, the limit on runs at once`;
    return undefined;
  }

  private ledger: SpendLedger | undefined;

  /** The run index (read-only use: `loops resume` finds the run it continues there). */
  get runIndex(): StateIndex {
    return this.index;
  }

  /**
   * Starts one run and resolves with its result; the run's events reach every subscriber. With
   * `resume`, the run continues another from its last completed iteration (commands/resume.ts).
   */
  async start(
    loop: string,
    trigger = 'manual',
    runId: string = newRunId(),
    options: { resume?: ResumePoint } = {},
  ): Promise<RunResult> {
    const def = this.definition(loop);
    if (!def) throw new Error(`no valid loop named "${loop}": run loops validate`);
    const control = new RunControl();
    for (const text of this.pending.get(loop) ?? []) control.instruct(text, false);
    this.pending.delete(loop);
    const env = this.options.env ?? process.env;
    const done = executeRun({
      definition: def,
      runId,
      trigger,
      createProvider: async () => {
        const provider = await createProvider({
          provider: def.agent.provider,
          model: def.model,
          ...(def.agent.base_url ? { baseUrl: def.agent.base_url } : {}),
          loopDir: def.dir,
          script: def.agent.script,
          ...(def.agent.command ? { command: def.agent.command } : {}),
          env,
          ...(this.options.maxRetries === undefined ? {} : { maxRetries: this.options.maxRetries }),
        });
        return this.options.wrapProvider ? this.options.wrapProvider(provider) : provider;
      },
      createGraders: () => createGraders(def),
      worktrees: this.worktrees,
      paths: this.paths,
      index: this.index,
      control,
      onEvent: (event) => this.publish(event),
      ...(this.options.price ? { price: this.options.price } : {}),
      ...(this.ledger ? { ledger: this.ledger } : {}),
      ...(options.resume ? { resume: options.resume } : {}),
    });
    const entry: ActiveRun = { id: runId, control, done };
    this.active.set(loop, [...this.runsOf(loop), entry]);
    try {
      const result = await done;
      this.lastOutcome.set(loop, result.outcome);
      return result;
    } finally {
      this.active.set(
        loop,
        this.runsOf(loop).filter((r) => r !== entry),
      );
    }
  }

  /** Stops every run gracefully, waits for them to record their outcome, and releases the state folder. */
  async shutdown(reason = 'loops is shutting down'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.active.values()].flat();
    for (const run of all) run.control.stop(reason);
    await Promise.allSettled(all.map((r) => r.done));
    await this.lock.release();
  }

  private reportError(err: unknown): void {
    if (this.options.onError) this.options.onError(err);
    else process.emitWarning(err instanceof Error ? err : new Error(String(err)));
  }

  private runsOf(loop: string): ActiveRun[] {
    return this.active.get(loop) ?? [];
  }

  private publish(event: LoopEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A broken subscriber must not break the run (the trace file still has the event), but it is reported.
        this.reportError(err);
      }
    }
  }
}

export function describeTrigger(def: LoopDefinition): string {
  const t = def.trigger;
  const parts: string[] = [];
  if (t.cron) parts.push(`cron ${t.cron}`);
  if (t.watch?.length) parts.push(`watch ${t.watch.join(',')}`);
  if (t.webhook) parts.push('webhook');
  if (t.goal) parts.push('goal');
  return parts.length ? parts.join(' · ') : 'manual';
}
