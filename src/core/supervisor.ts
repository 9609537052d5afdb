/**
 * Many runs at once. Loads the loops, owns the state folder (one writer), starts runs on command,
 * fans their events out to subscribers, and takes commands back through one entry point.
 */
import { loadAllLoops, type LoadResult } from './definition/load.js';
import { formatProblem } from './definition/problems.js';
import type { LoopDefinition } from './definition/schema.js';
import type { Command, LoopInfo, SupervisorPort } from './control.js';
import type { EventListener, LoopEvent, Outcome, TokenUsage } from './events.js';
import { RunControl } from './run/control.js';
import { executeRun, type RunResult } from './run/run.js';
import { createGraders } from './verify/index.js';
import { createProvider } from '../models/factory.js';
import type { ModelProvider } from '../models/provider.js';
import { Worktrees } from '../workspace/worktrees.js';
import { ensureStateGitignore, newRunId, statePaths, type StatePaths } from '../state/paths.js';
import { StateIndex } from '../state/index-db.js';
import { lockStateDir, type StateLock } from '../state/lock.js';
import { RunSandbox, type RunSandboxOptions } from '../process/run-sandbox.js';

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
}

interface ActiveRun {
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
      await index.markInterrupted();
      await worktrees.pruneOrphans();
      const definitions = await loadAllLoops(worktrees.repoRoot);
      self = new Supervisor(worktrees.repoRoot, paths, worktrees, index, lock, definitions, options);
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

  send(command: Command): void {
    switch (command.type) {
      case 'start':
        if (this.canStart(command.loop))
          void this.start(command.loop, command.trigger ?? 'manual').catch((err: unknown) =>
            this.reportError(err),
          );
        return;
      case 'stop':
        for (const run of this.runsOf(command.loop)) run.control.stop();
        return;
      case 'pause':
        for (const run of this.runsOf(command.loop)) run.control.pause();
        return;
      case 'resume':
        for (const run of this.runsOf(command.loop)) run.control.resume();
        return;
      case 'instruct': {
        const runs = this.runsOf(command.loop);
        if (runs.length === 0)
          this.pending.set(command.loop, [...(this.pending.get(command.loop) ?? []), command.text]);
        for (const run of runs) run.control.instruct(command.text, command.now);
        return;
      }
    }
  }

  isRunning(loop: string): boolean {
    return this.runsOf(loop).length > 0;
  }

  canStart(loop: string): boolean {
    const def = this.definition(loop);
    if (!def || this.closed) return false;
    if (this.runsOf(loop).length >= def.concurrency) return false;
    const inFlight = [...this.active.values()].reduce((n, runs) => n + runs.length, 0);
    return inFlight < (this.options.maxConcurrent ?? 4);
  }

  /** Starts one run and resolves with its result; the run's events reach every subscriber. */
  async start(loop: string, trigger = 'manual'): Promise<RunResult> {
    const def = this.definition(loop);
    if (!def) throw new Error(`no valid loop named "${loop}": run loops validate`);
    const control = new RunControl();
    for (const text of this.pending.get(loop) ?? []) control.instruct(text, false);
    this.pending.delete(loop);
    const env = this.options.env ?? process.env;
    const done = executeRun({
      definition: def,
      runId: newRunId(),
      trigger,
      openSandbox: () =>
        RunSandbox.open({ definition: def, repoRoot: this.repoRoot, env, ...this.options.sandbox }),
      createProvider: async (sandbox) => {
        const provider = await createProvider({
          sandbox,
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
    });
    const entry: ActiveRun = { control, done };
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
      } catch {
        // A broken subscriber must not break the run; the trace file still has the event.
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
