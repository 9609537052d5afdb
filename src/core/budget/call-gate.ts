/**
 * Checked before every model call of every run, after the run's own caps: the fleet's caps across all
 * loops hold calls here (so sixteen runs in flight cannot pass a daily cap many times over). `wait`
 * resolves when the call may go on, or with `stopped` when the signal (the run's stop) aborted the wait.
 * While it waits the run is waiting for something above it: its minutes budget is suspended.
 */
import type { ModelStep } from '../events.js';

export interface GatedCall {
  loop: string;
  run: string;
  model: string;
  step: ModelStep;
}

export interface CallGate {
  /** Resolves at once when nothing holds calls back. */
  wait(call: GatedCall, signal: AbortSignal): Promise<'go' | 'stopped'>;
}
