/**
 * The approval gate of one run: a tool call that matches an `approve:` rule waits at its safe point
 * until a person approves or denies it (bound to its approval id), a timeout denies it, or a stop ends
 * the run. With nobody to ask (a headless run) it is denied at once, so a run never hangs on it.
 * Waiting counts as time spent on a person, not against the `minutes` budget.
 */
import type { PendingApproval } from '../control.js';
import type { LoopDefinition } from '../definition/schema.js';
import type { ToolCallRecord } from '../events.js';
import type { Emitter } from '../run/emitter.js';
import type { RunControl } from '../run/control.js';
import { waitForPerson } from '../run/person-wait.js';
import type { HintedTool } from './hints.js';
import { matchCall, type McpOrigin } from './match.js';
import { parseRules, type ApprovalRule } from './rules.js';

/** What the agent turn does with a call. */
export type ToolVerdict = { kind: 'allow' } | { kind: 'deny'; reason: string } | { kind: 'stopped' };

export interface GateOptions {
  /** Whether a person can answer (a screen is attached); false denies every asked call at once. */
  attended: boolean;
  /** How long a call waits before it is denied; null waits until answered or stopped. */
  timeoutMs: number | null;
}

interface Waiting {
  pending: PendingApproval;
  settle: (answer: { approved: boolean; reason: string }) => void;
}

export class ApprovalGate {
  private readonly rules: ApprovalRule[];
  private readonly waiting = new Map<string, Waiting>();
  /** Connector tools that ask by their server's hints (hints.ts), by the name the model calls. */
  private readonly hinted = new Map<string, HintedTool>();
  /** Every connector tool's own server and tool names, by the name the model calls, for `mcp:` rules. */
  private readonly origins = new Map<string, McpOrigin>();
  private asked = 0;

  constructor(
    private readonly loop: string,
    private readonly run: string,
    approve: readonly string[],
    private readonly options: GateOptions,
  ) {
    this.rules = parseRules(approve);
  }

  static forDefinition(def: LoopDefinition, run: string, attended: boolean): ApprovalGate {
    return new ApprovalGate(def.name, run, def.approve, {
      attended,
      timeoutMs: Math.round(def.approval.timeout * 1000),
    });
  }

  get hasRules(): boolean {
    return this.rules.length > 0 || this.hinted.size > 0;
  }

  /** Connector tools that ask a person by their hints, known once their servers have started. */
  addHinted(tools: readonly HintedTool[]): void {
    for (const t of tools) this.hinted.set(t.name, t);
  }

  /** The connector tools of the run, once their servers have started: `mcp:` rules match their own names. */
  addConnectorTools(tools: ReadonlyArray<{ name: string } & McpOrigin>): void {
    for (const t of tools) this.origins.set(t.name, { server: t.server, tool: t.tool });
  }

  /** The calls waiting for a person now. */
  pending(): PendingApproval[] {
    return [...this.waiting.values()].map((w) => w.pending);
  }

  /** A person's answer; false when no call waits under this id (answered, timed out, or never asked). */
  answer(approvalId: string, approved: boolean, reason: string): boolean {
    const waiting = this.waiting.get(approvalId);
    if (!waiting) return false;
    waiting.settle({ approved, reason });
    return true;
  }

  /** Decides one call at its safe point; emits approval.requested and approval.resolved around a wait. */
  async check(call: ToolCallRecord, emitter: Emitter, control: RunControl): Promise<ToolVerdict> {
    // A rule the loop wrote wins over a hint (it names itself in the events); a hint asks otherwise.
    const ruled = matchCall(this.rules, call, this.origins.get(call.name));
    const hint = ruled ? undefined : this.hinted.get(call.name);
    const match = ruled
      ? { rule: ruled.rule.raw, matched: ruled.matched, why: `rule ${ruled.rule.raw}` }
      : hint
        ? { rule: hint.reason, matched: `${hint.server}/${hint.tool}`, why: hint.reason }
        : undefined;
    if (!match) return { kind: 'allow' };
    if (control.stopRequested) return { kind: 'stopped' };
    this.asked += 1;
    const approvalId = `${this.run}-a${this.asked}`;
    const timeoutMs = this.options.attended ? this.options.timeoutMs : 0;
    const request = {
      type: 'approval.requested' as const,
      approvalId,
      callId: call.id,
      tool: call.name,
      input: call.input,
      rule: match.rule,
      matched: match.matched,
      timeoutMs,
    };
    const resolved = (approved: boolean, by: 'person' | 'headless' | 'timeout' | 'stop', reason: string) =>
      emitter.emit({ type: 'approval.resolved', approvalId, callId: call.id, approved, by, reason });

    if (!this.options.attended) {
      emitter.emit(request);
      const reason =
        `denied without asking: "${match.matched}" needs a person's approval (${match.why}) ` +
        'and this run has nobody to ask (headless); do the work another way or leave this step to a person';
      resolved(false, 'headless', reason);
      return { kind: 'deny', reason };
    }

    const pending: PendingApproval = {
      approvalId,
      loop: this.loop,
      run: this.run,
      iteration: 0,
      callId: call.id,
      tool: call.name,
      input: call.input,
      rule: match.rule,
      matched: match.matched,
      since: new Date().toISOString(),
      timeoutMs,
    };
    // Waiting for a person is not work: the minutes deadline stands still meanwhile.
    return control.waitingForPerson(async (): Promise<ToolVerdict> => {
      // Waiting before the request is out: a listener may answer it from inside the emit.
      const answered = this.wait(pending, control);
      const requested = emitter.emit(request);
      pending.iteration = requested.iteration;
      pending.since = requested.time;
      const answer = await answered;
      if (answer.by === 'stop') {
        resolved(false, 'stop', control.stopMessage || 'the run was stopped');
        return { kind: 'stopped' };
      }
      if (answer.approved) {
        resolved(true, answer.by, answer.reason);
        return { kind: 'allow' };
      }
      const reason =
        answer.by === 'timeout'
          ? `denied: nobody approved "${match.matched}" (${match.why}) within ${formatSeconds(timeoutMs)}`
          : `denied by a person: ${answer.reason.trim() || 'no reason given'}`;
      resolved(false, answer.by, reason);
      return { kind: 'deny', reason };
    });
  }

  private async wait(
    pending: PendingApproval,
    control: RunControl,
  ): Promise<{ approved: boolean; reason: string; by: 'person' | 'timeout' | 'stop' }> {
    const id = pending.approvalId;
    const result = await waitForPerson<{ approved: boolean; reason: string }>(
      control.stopSignal,
      pending.timeoutMs,
      (answer) => {
        this.waiting.set(id, { pending, settle: answer });
        return () => this.waiting.delete(id);
      },
    );
    return result.by === 'person'
      ? { ...result.answer, by: 'person' }
      : { approved: false, reason: '', by: result.by };
  }
}

function formatSeconds(ms: number | null): string {
  if (ms === null) return 'the wait';
  const s = ms / 1000;
  return s >= 120 ? `${Math.round(s / 60)} minutes` : `${Math.round(s * 10) / 10} s`;
}
