/** A SupervisorPort for UI tests: records the commands sent and lets the test emit events. */
import type { Command, CommandReply, LoopInfo, SupervisorPort } from '../../src/core/control.js';
import type { EventListener, LoopEvent, LoopEventBody, TokenUsage } from '../../src/core/events.js';

export class FakePort implements SupervisorPort {
  readonly sent: Command[] = [];
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly infos: LoopInfo[]) {}

  loops(): LoopInfo[] {
    return this.infos;
  }

  /** What the next commands are answered with; by default every command is done. */
  reply: (command: Command) => Omit<CommandReply, 'id' | 'type' | 'loop'> = () => ({
    ok: true,
    status: 'done',
    reason: 'done',
  });

  send(command: Command): CommandReply {
    this.sent.push(command);
    return { id: `c${this.sent.length}`, type: command.type, loop: command.loop, ...this.reply(command) };
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(...events: LoopEvent[]): void {
    for (const event of events) for (const listener of [...this.listeners]) listener(event);
  }
}

export function loopInfo(name: string, extra: Partial<LoopInfo> = {}): LoopInfo {
  return {
    name,
    description: `${name} task`,
    provider: 'scripted',
    model: 'scripted',
    trigger: 'manual',
    ...extra,
  };
}

/** Builds the events of one run with seq counting up from 1 and the iteration tracked. */
export function runEvents(loop: string, run: string): (body: LoopEventBody) => LoopEvent {
  let seq = 0;
  let iteration = 0;
  return (body) => {
    seq += 1;
    if (body.type === 'iteration.started') iteration += 1;
    return { loop, run, iteration, time: '2026-01-01T00:00:00.000Z', seq, span: `${run}.${seq}`, ...body };
  };
}

export const usage = (input: number, output = 0, cacheRead = 0, cacheWrite = 0): TokenUsage => ({
  input,
  output,
  cacheRead,
  cacheWrite,
});

export function started(budget: { iterations?: number; tool_calls?: number } = {}): LoopEventBody {
  return {
    type: 'run.started',
    trigger: 'manual',
    base: 'main',
    branch: 'loops/x/r1',
    worktree: '/tmp/wt',
    budget: {
      iterations: budget.iterations ?? 10,
      tool_calls: budget.tool_calls ?? 200,
      usd: null,
      tokens: null,
      minutes: null,
    },
  };
}

export function ended(outcome: 'verified' | 'stopped' | 'failed' | 'budget', reason = 'done'): LoopEventBody {
  return {
    type: 'run.ended',
    outcome,
    reason,
    iterations: 2,
    toolCalls: 3,
    usage: usage(100, 50, 10, 5),
    spend: { usd: 0, unpricedCalls: 0 },
    branch: 'loops/x/r1',
    worktree: '/tmp/wt',
    durationMs: 1000,
  };
}

export function modelResponse(text: string, tokens = usage(0), usd?: number | null): LoopEventBody {
  return {
    ...(usd === undefined ? {} : { usd }),
    type: 'model.response',
    provider: 'scripted',
    model: 'scripted',
    step: 'work',
    text,
    toolCalls: [],
    stopReason: 'end_turn',
    usage: tokens,
    durationMs: 5,
  };
}

export function toolCall(name: string, input: unknown): LoopEventBody {
  return { type: 'tool.call', callId: `c-${name}`, name, input };
}

export function approvalRequested(approvalId: string, command = 'git push origin main'): LoopEventBody {
  return {
    type: 'approval.requested',
    approvalId,
    callId: `call-${approvalId}`,
    tool: 'run',
    input: { command },
    rule: 'run:git push*',
    matched: command,
    timeoutMs: null,
  };
}

export function approvalResolved(
  approvalId: string,
  approved: boolean,
  by: 'person' | 'timeout' = 'person',
): LoopEventBody {
  return {
    type: 'approval.resolved',
    approvalId,
    callId: `call-${approvalId}`,
    approved,
    by,
    reason: approved ? '' : 'denied',
  };
}

export const NO_SIGNALS = {
  newDiff: false,
  returnedToEarlierDiff: false,
  testsMoved: false,
  scoresMoved: false,
  metricBestMoved: false,
  newErrors: 0,
  repeatedErrors: 0,
  repeatedToolCalls: false,
  cycle: false,
};

export function stallSignals(
  progress: boolean,
  quiet: number,
  signals: Partial<typeof NO_SIGNALS> = {},
  window = 2,
): LoopEventBody {
  return { type: 'stall.signals', progress, quiet, window, signals: { ...NO_SIGNALS, ...signals } };
}

/** A supervisor-stream event (its own run id and seq). */
export function supervisorEvents(): (body: LoopEventBody) => LoopEvent {
  let seq = 0;
  return (body) => {
    seq += 1;
    return {
      source: 'supervisor',
      loop: '',
      run: 'supervisor',
      iteration: 0,
      time: '2026-01-01T00:00:00.000Z',
      seq,
      span: `supervisor.${seq}`,
      ...body,
    };
  };
}
