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
  type SupervisorSnapshot,
} from './control.js';
import type { EventListener, LoopEventBody, Outcome, TokenUsage } from './events.js';
import { PendingInstructions } from './pending-instructions.js';
import type { ResumePoint, RunResult } from './run/run.js';
import type { ModelProvider } from '../models/provider.js';
import { Worktrees } from '../workspace/worktrees.js';
import { ensureStateGitignore, newRunId, statePaths, type StatePaths } from '../state/paths.js';
import { StateIndex } from '../state/index-db.js';
import { lockStateDir, type StateLock } from '../state/lock.js';
import { openTelemetry, type Telemetry } from '../telemetry/setup.js';
import type { RunSandboxOptions } from '../process/run-sandbox.js';
import { ledgerFor, type SpendLedger } from '../state/spend-ledger.js';
import { migrateLegacyLedger } from '../state/migrate.js';
import { recoverInterrupted, type RecoveredRun } from '../state/recover.js';
import { describeTrigger, needsOf } from './supervisor-view.js';
import { EventHub, type JobSource } from './event-hub.js';
import { StartQueue } from './start-queue.js';
import { launchRun, type LaunchedRun } from './run-launch.js';
import { JobRunner } from './job-runner.js';
import { answerRunCommand } from './supervisor-commands.js';
import type { SupervisorJob } from './jobs.js';
import type { CallGate } from './budget/call-gate.js';
import { manualContext, type TriggerContext } from './trigger-context.js';

export { describeTrigger } from './supervisor-view.js';

export interface SupervisorOptions {
  /** Where API keys and base URLs come from; never written anywhere. */
  env?: NodeJS.ProcessEnv;
  /** Runs in flight across all loops. */
  maxConcurrent?: number;
  /** Wraps every provider (the demo paces the scripted model so a person can watch). */
  wrapProvider?: (provider: ModelProvider) => ModelProvider;
  price?: (model: string, usage: TokenUsage) => number | null;
  maxRetries?: number;
  /** The sandbox's binary and what to do when it cannot start (the demo runs unconfined); default: fail. */
  sandbox?: Pick<RunSandboxOptions, 'bwrapPath' | 'fallback'>;
  /** Failures outside any run's record (e.g. the state folder became unwritable); never swallowed. */
  onError?: (error: unknown) => void;
  /**
   * A person can answer (a screen is attached): approvals are asked and a stall's pause waits.
   * Default false: approvals are denied at once and a stall's pause ends the run `stalled`.
   */
  attended?: boolean;
  /** Checked before every model call of every run (the fleet's caps across all loops). */
  callGate?: CallGate;
}

type ActiveRun = LaunchedRun;

export class Supervisor implements SupervisorPort {
  private readonly events = new EventHub((error) => this.reportError(error));
  private readonly active = new Map<string, ActiveRun[]>();
  private readonly lastOutcome = new Map<string, Outcome>();
  private readonly lastReason = new Map<string, string>();
  /** Starts waiting behind the limit on runs at once, in order. */
  private readonly queue = new StartQueue(this.events);
  private closed = false;
  /** Runs the last loops left unfinished (killed), closed as failed (interrupted) on this open. */
  recovered: RecoveredRun[] = [];
  /** Jobs above the run (triggers, the fleet, the daemon's server): core/jobs.ts. */
  private readonly jobs = new JobRunner((signal) => ({
    repoRoot: this.repoRoot,
    paths: this.paths,
    env: this.options.env ?? process.env,
    port: this,
    send: (command) => this.send(command),
    subscribe: (listener) => this.subscribe(listener),
    definitions: () => this.validDefinitions(),
    emit: (source, loop, body) => this.emitFrom(source, loop, body),
    drainQueue: () => this.drainQueue(),
    signal,
    reportError: (error) => this.reportError(error),
  }));
  private constructor(
    readonly repoRoot: string,
    readonly paths: StatePaths,
    private readonly worktrees: Worktrees,
    private readonly index: StateIndex,
    private readonly lock: StateLock,
    private definitions: Array<{ name: string; result: LoadResult }>,
    private readonly options: SupervisorOptions,
    private readonly telemetry: Telemetry | undefined,
    /** Instructions given to a loop with no run in flight, kept in state/: the next run starts with them. */
    private readonly pending: PendingInstructions,
  ) {
    for (const { name } of definitions) {
      const last = index.lastRun(name);
      if (last && last.status !== 'running') this.lastOutcome.set(name, last.status);
      if (last?.reason !== undefined) this.lastReason.set(name, last.reason);
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
      // list and spend read the index's summary; one left stale (or missing) is written again here.
      await index.refreshSummary();
      const recovered = await recoverInterrupted(paths, index, ledger);
      // A worktree folder that still holds work is never deleted; say it is there.
      for (const kept of (await worktrees.pruneOrphans()).kept) {
        (options.onError ?? ((e: unknown) => process.emitWarning(String(e))))(kept.reason);
      }
      const definitions = await loadAllLoops(worktrees.repoRoot);
      const pending = await PendingInstructions.load(
        paths,
        definitions.map((d) => d.name),
      );
      const telemetry = await openTelemetry(options.env ?? process.env, (e) =>
        (options.onError ?? ((err: unknown) => process.emitWarning(String(err))))(e),
      );
      self = new Supervisor(
        worktrees.repoRoot,
        paths,
        worktrees,
        index,
        lock,
        definitions,
        options,
        telemetry,
        pending,
      );
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
        ...this.jobs.info(name),
      };
    });
  }

  /** The loops whose LOOP.md is valid now. */
  validDefinitions(): LoopDefinition[] {
    return this.definitions.flatMap(({ result }) => (result.ok ? [result.definition] : []));
  }

  /** Starts a job above the run (core/jobs.ts); it is stopped on shutdown. */
  async addJob(job: SupervisorJob): Promise<void> {
    if (this.closed) throw new Error(`cannot start ${job.name}: loops is shutting down`);
    await this.jobs.add(job);
  }

  /**
   * Reads the loops' LOOP.md files again and announces what changed (`loops.changed`). Runs in flight
   * keep the definition they started with; the next start uses the new one.
   */
  async reload(): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = await loadAllLoops(this.repoRoot);
    const before = new Map(this.definitions.map((d) => [d.name, fingerprint(d.result)]));
    const after = new Map(next.map((d) => [d.name, fingerprint(d.result)]));
    const added = [...after.keys()].filter((n) => !before.has(n));
    const removed = [...before.keys()].filter((n) => !after.has(n));
    const changed = [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n));
    this.definitions = next;
    if (added.length + removed.length + changed.length > 0) {
      this.events.supervisor(added[0] ?? changed[0] ?? removed[0] ?? '', {
        type: 'loops.changed',
        added,
        removed,
        changed,
      });
      // A loop that became valid may take a queued start; one that was removed leaves the queue.
      this.queue.refuse(removed, (loop) => `${loop} was removed`);
      this.drainQueue();
    }
    return { added, removed, changed };
  }

  definition(name: string): LoopDefinition | undefined {
    const entry = this.definitions.find((d) => d.name === name);
    return entry?.result.ok ? entry.result.definition : undefined;
  }

  subscribe(listener: EventListener): () => void {
    return this.events.subscribe(listener);
  }

  send(command: Command): CommandReply {
    const reply = this.handle({ ...command, id: command.id ?? newCommandId() });
    this.events.replied(command.loop, {
      id: reply.id,
      command: reply.type,
      ok: reply.ok,
      status: reply.status,
      reason: reply.reason,
      ...(reply.run === undefined ? {} : { run: reply.run }),
    });
    return reply;
  }

  private handle(command: Command & { id: string }): CommandReply {
    const reply = (
      ok: boolean,
      status: CommandReply['status'],
      reason: string,
      run?: string,
    ): CommandReply => ({
      id: command.id,
      type: command.type,
      loop: command.loop,
      ok,
      status,
      reason,
      ...(run === undefined ? {} : { run }),
    });
    if (command.type === 'start') {
      const context = command.context ?? manualContext(command.trigger);
      const trigger = command.trigger ?? context.kind;
      const check = this.startCheck(command.loop);
      const queue = (why: string): CommandReply => {
        this.queue.push({
          id: command.id,
          loop: command.loop,
          trigger,
          since: new Date().toISOString(),
          context,
        });
        return reply(true, 'queued', `${why}; queued (${this.queue.length} waiting)`);
      };
      if (check.atLimit) return queue(check.atLimit);
      if (check.busy && command.overlap === 'queue') {
        if (this.queue.has(command.loop))
          return reply(false, 'refused', `dropped: ${command.loop} is running and a start is already queued`);
        return queue(`${command.loop} is running`);
      }
      if (check.busy && command.overlap === 'drop')
        return reply(false, 'refused', `dropped: ${command.loop} is running (overlap: drop)`);
      if (check.refusal) return reply(false, 'refused', check.refusal);
      const runId = this.launch(command.loop, trigger, context);
      return reply(true, 'started', `started run ${runId}`, runId);
    }
    const runs = this.runsOf(command.loop).filter((r) => command.run === undefined || r.id === command.run);
    if (command.run !== undefined && runs.length === 0)
      return reply(false, 'refused', `run ${command.run} of ${command.loop} is not in flight`);
    return answerRunCommand(command, runs, {
      reply,
      // A start waiting in the queue is what a person means to stop when nothing runs yet.
      dequeue: (loop) => this.queue.remove(loop),
      keep: (loop, text) => {
        if (!this.definition(loop)) return false;
        this.pending.add(loop, text).catch((err: unknown) => this.reportError(err));
        return true;
      },
    });
  }

  snapshot(): SupervisorSnapshot {
    const all = [...this.active.values()].flat();
    return {
      loops: this.loops(),
      needs: needsOf(
        this.definitions.map((d) => d.name),
        all,
        this.lastOutcome,
        this.lastReason,
      ),
      runs: all.map((r) => ({ ...r.view, ...(r.view.stalled ? { stalled: { ...r.view.stalled } } : {}) })),
      approvals: all.flatMap((r) => r.gate.pending()),
      queue: this.queue.entries(),
      pendingInstructions: this.pending.entries(),
      running: all.filter((r) => r.view.status !== 'paused').length,
      limit: this.limit,
      inFlight: all.length,
      seq: this.events.seq,
    };
  }

  isRunning(loop: string): boolean {
    return this.runsOf(loop).length > 0;
  }

  canStart(loop: string): boolean {
    return this.startRefusal(loop) === undefined;
  }

  /** Why a start of this loop would be refused now, or undefined when it may start. */
  startRefusal(loop: string): string | undefined {
    const check = this.startCheck(loop);
    return check.refusal ?? check.atLimit;
  }

  /** The limit on runs at once (paused runs hold their place in it: they resume at any time). */
  get limit(): number {
    return this.options.maxConcurrent ?? 4;
  }

  /**
   * `refusal`: it cannot start; `atLimit`: it could, once a run ends or a job lets it (a start is
   * queued); `busy`: the refusal is the loop's own concurrency (a trigger's overlap rule decides).
   */
  private startCheck(
    loop: string,
    fromQueue = false,
  ): { refusal?: string; atLimit?: string; busy?: boolean } {
    if (this.closed) return { refusal: 'loops is shutting down' };
    const entry = this.definitions.find((d) => d.name === loop);
    if (!entry) return { refusal: `no loop named ${loop}` };
    if (!entry.result.ok)
      return { refusal: `${loop} has a problem in its LOOP.md: run loops validate ${loop}` };
    if (this.runsOf(loop).length >= entry.result.definition.concurrency)
      return {
        refusal: `${loop} is already running (concurrency ${entry.result.definition.concurrency})`,
        busy: true,
      };
    if (!fromQueue && this.queue.has(loop)) return { refusal: `${loop} is already queued` };
    const inFlight = [...this.active.values()].reduce((n, runs) => n + runs.length, 0);
    if (inFlight >= this.limit)
      return { atLimit: `${inFlight} runs are in flight, the limit on runs at once` };
    const held = this.jobs.holdStart(loop);
    if (held !== undefined) return { atLimit: held };
    return {};
  }

  /** Starts a run in the background; its failure outside the run's record is reported. */
  private launch(loop: string, trigger: string, context?: TriggerContext): string {
    const runId = newRunId();
    void this.start(loop, trigger, runId, context ? { context } : {}).catch((err: unknown) =>
      this.reportError(err),
    );
    return runId;
  }

  /** After a run ends: the queue's first starts that may run now are started, in order. */
  private drainQueue(): void {
    if (this.closed) return;
    this.queue.drain(
      (loop) => this.startCheck(loop, true),
      (queued) => this.launch(queued.loop, queued.trigger, queued.context),
    );
  }

  /** A job's event on its source's own stream (`run` = the source), with that stream's own seq. */
  private emitFrom(source: JobSource, loop: string, body: LoopEventBody): void {
    this.events.from(source, loop, body);
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
    options: { resume?: ResumePoint; context?: TriggerContext } = {},
  ): Promise<RunResult> {
    const def = this.definition(loop);
    if (!def) throw new Error(`no valid loop named "${loop}": run loops validate`);
    const kept = this.pending.take(loop);
    kept.written.catch((err: unknown) => this.reportError(err));
    const entry = launchRun(
      {
        repoRoot: this.repoRoot,
        paths: this.paths,
        worktrees: this.worktrees,
        index: this.index,
        options: this.options,
        telemetry: this.telemetry,
        ledger: this.ledger,
        publish: (event) => this.events.publish(event),
      },
      { loop, definition: def, runId, trigger, instructions: kept.texts, ...options },
    );
    const done = entry.done;
    this.active.set(loop, [...this.runsOf(loop), entry]);
    try {
      const result = await done;
      this.lastOutcome.set(loop, result.outcome);
      this.lastReason.set(loop, result.reason);
      return result;
    } finally {
      this.active.set(
        loop,
        this.runsOf(loop).filter((r) => r !== entry),
      );
      this.drainQueue();
    }
  }

  /** Stops every run gracefully, waits for them to record their outcome, and releases the state folder. */
  async shutdown(reason = 'loops is shutting down'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // No trigger fires into a closing supervisor; a server job stops taking commands.
    await this.jobs.stopAll((err) => this.reportError(err));
    this.queue.clear(reason);
    const all = [...this.active.values()].flat();
    for (const run of all) run.control.stop(reason);
    await Promise.allSettled(all.map((r) => r.done));
    // Instructions kept for idle loops are on disk before the state folder is let go.
    await this.pending.settled();
    await this.telemetry?.shutdown();
    await this.lock.release();
  }

  private reportError(err: unknown): void {
    if (this.options.onError) this.options.onError(err);
    else process.emitWarning(err instanceof Error ? err : new Error(String(err)));
  }

  private runsOf(loop: string): ActiveRun[] {
    return this.active.get(loop) ?? [];
  }
}

/** Equal when the loop's definition (or its problem) did not change. */
function fingerprint(result: LoadResult): string {
  return JSON.stringify(result);
}
