/**
 * Hill-climbing proposals as the screen and `loops review` see them: a change to one harness file
 * (a SKILL.md or the task prompt in LOOP.md; never RUBRIC.md, see docs/hillclimb.md), the evidence
 * from the loop's traces, and the evaluation that measured it on the loop's own past tasks before a
 * person saw it. The engine lives in src/hillclimb/; this is the protocol between it and its readers.
 */
export type ProposalStatus = 'pending' | 'accepted' | 'rejected' | 'regressed' | 'superseded';

/**
 * What is put in front of a person: pending proposals and the accepted ones (what changed the harness).
 * A regressed one measured no gain, a rejected or superseded one is decided: kept on disk, listed
 * only when asked for every status (`loops review --list --all`).
 */
export function shownToPerson(p: { status: ProposalStatus }): boolean {
  return p.status === 'pending' || p.status === 'accepted';
}

/**
 * Hill-climbing's spend is recorded in the loop's ledger under pseudo-runs, never counted as runs of
 * the loop: `improve-<proposal>` holds the analyst's calls, `improve-<proposal>-eval` every call of
 * the evaluation's re-runs.
 */
export function hillclimbRunId(proposal: string, part: 'analyst' | 'evaluation'): string {
  return part === 'analyst' ? `improve-${proposal}` : `improve-${proposal}-eval`;
}

/** Which part of hill-climbing a ledger "run" is, or undefined for anything else. */
export function hillclimbPart(run: string): 'analyst' | 'evaluation' | undefined {
  if (!run.startsWith('improve-')) return undefined;
  return run.endsWith('-eval') ? 'evaluation' : 'analyst';
}

/** A group of like failures across recent runs, with the trace lines that show them. */
export interface FailureSignature {
  /** A stable key: kind plus what failed (criterion, test, tool, error class...). */
  key: string;
  kind:
    | 'criterion'
    | 'test'
    | 'tool_error'
    | 'repeated_error'
    | 'stall'
    | 'budget'
    | 'approval_denied'
    | 'correction';
  summary: string;
  count: number;
  /** Where it shows: run id and the event's seq in that run's trace. */
  evidence: Array<{ run: string; seq: number; excerpt: string }>;
}

/** One arm of an evaluation: the loop's tasks re-run without or with the proposal. */
export interface EvaluationArm {
  arm: 'without' | 'with';
  tasks: number;
  runs: number;
  verified: number;
  /** verified / runs. */
  rate: number;
  iterations: number;
  usd: number;
  /** Dollars per verified run; null when none verified. */
  usdPerVerified: number | null;
  /** Per task (the run it repeats): verified in this arm? */
  perTask: Array<{ task: string; verified: boolean; runs: number }>;
}

export interface ProposalView {
  id: string;
  loop: string;
  status: ProposalStatus;
  /** The file the diff changes, relative to the repository root. */
  file: string;
  title: string;
  rationale: string;
  /** A unified diff against the file as it was when the proposal was made. */
  diff: string;
  signatures: FailureSignature[];
  evaluation: EvaluationArm[];
  /** The verdict of the evaluation, in words ("verified 1/3 → 3/3, no task lost"). */
  effect: string;
  createdAt: string;
  /** What the analysis and the evaluation cost, in dollars (null when unpriced). */
  costUsd: number | null;
  /** rejected: the person's reason; superseded: what changed; accepted: the commit. */
  reason?: string;
  commit?: string;
}

export type ProposalAnswer = { ok: true; detail: string; commit?: string } | { ok: false; reason: string };

/** What a screen (or `loops review`) does with proposals; implemented by src/hillclimb/. */
export interface ProposalsPort {
  /**
   * Pending proposals first, newest first; all loops when `loop` is absent. Only those shownToPerson
   * unless `all` is set (regressed, rejected and superseded ones too).
   */
  list(loop?: string, options?: { all?: boolean }): Promise<ProposalView[]>;
  /** Applies the diff and commits it on the repository's current branch, with a message citing it. */
  accept(id: string, options?: { diff?: string }): Promise<ProposalAnswer>;
  /** Rejects it; the reason is kept and shown to the analyst next time, so it is never proposed again. */
  reject(id: string, reason: string): Promise<ProposalAnswer>;
  /** Starts an analysis (and evaluation) for a loop now, in the background; its progress arrives as events. */
  improve(loop: string): Promise<ProposalAnswer>;
}
