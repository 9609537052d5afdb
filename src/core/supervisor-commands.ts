/**
 * The supervisor's answers to commands addressed to runs in flight: stop, pause, resume, instruct,
 * approve and deny. Every one is answered (done, queued or refused with the reason).
 */
import type { Command, CommandReply } from './control.js';
import type { ApprovalGate } from './approval/gate.js';
import type { RunControl } from './run/control.js';

interface RunInFlight {
  id: string;
  control: RunControl;
  gate: ApprovalGate;
}

export interface CommandHelpers {
  reply: (ok: boolean, status: CommandReply['status'], reason: string, run?: string) => CommandReply;
  /** Removes the loop's queued start; false when none was queued. */
  dequeue: (loop: string) => boolean;
  /** Keeps an instruction for the loop's next run; false when there is no valid loop of that name. */
  keep: (loop: string, text: string) => boolean;
}

export function answerRunCommand(
  command: Exclude<Command, { type: 'start' }>,
  runs: RunInFlight[],
  { reply, dequeue, keep }: CommandHelpers,
): CommandReply {
  switch (command.type) {
    case 'stop':
      if (runs.length === 0) {
        if (dequeue(command.loop)) return reply(true, 'done', 'removed from the queue');
        return reply(false, 'refused', `${command.loop} has no run in flight`);
      }
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
        if (!keep(command.loop, command.text))
          return reply(false, 'refused', `no valid loop named ${command.loop}`);
        return reply(true, 'queued', 'kept for the next run of this loop');
      }
      for (const run of runs) run.control.instruct(command.text, command.now);
      return reply(
        true,
        'done',
        command.now ? 'interrupting with the instruction' : 'queued for the next iteration',
      );
    case 'approve':
    case 'deny': {
      // Bound to the approval id: an answer for a call that is no longer waiting changes nothing.
      const approved = command.type === 'approve';
      const reason = command.type === 'deny' ? command.reason : '';
      const answered = runs.some((run) => run.gate.answer(command.approvalId, approved, reason));
      if (!answered)
        return reply(false, 'refused', `no approval ${command.approvalId} is waiting in ${command.loop}`);
      return reply(true, 'done', approved ? 'approved' : 'denied');
    }
  }
}
