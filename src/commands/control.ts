/**
 * `loops stop|pause|resume NAME`, `loops approve ID`, `loops deny ID [--reason TEXT]`,
 * `loops status [NAME] [--json]`: control the loops that owns this repository's state folder (the
 * daemon, or a screen) from scripts, through its socket. Each prints the owner's reply and exits 0
 * when the command took effect, 1 when it was refused or nothing owns the folder, 2 on bad usage.
 */
import type { Command, CommandReply, SupervisorSnapshot } from '../core/control.js';
import { EXIT_BAD_DEFINITION } from '../core/events.js';
import { findOwner, RemoteSupervisor } from '../daemon/client.js';
import { statePaths } from '../state/paths.js';
import type { CommonOptions } from './index.js';

export type ControlVerb = 'stop' | 'pause' | 'resume' | 'approve' | 'deny' | 'status';

export const CONTROL_VERBS: readonly ControlVerb[] = ['stop', 'pause', 'resume', 'approve', 'deny', 'status'];

const EXIT_REFUSED = 1;

export async function control(verb: ControlVerb, args: string[], options: CommonOptions): Promise<number> {
  const usage = checkUsage(verb, args);
  if (usage !== undefined) {
    process.stderr.write(`loops ${verb}: ${usage}\n`);
    return EXIT_BAD_DEFINITION;
  }
  const port = await attach(options.repo);
  if (typeof port === 'string') {
    if (verb === 'status' && options.json)
      process.stdout.write(`${JSON.stringify({ owner: null, reason: port }, null, 2)}\n`);
    process.stderr.write(`loops ${verb}: ${port}\n`);
    return EXIT_REFUSED;
  }
  try {
    if (verb === 'status') return await status(port, args[0], options.json);
    const command = await commandFor(verb, args, options, port);
    if (typeof command === 'string') {
      process.stderr.write(`loops ${verb}: ${command}\n`);
      return EXIT_REFUSED;
    }
    const reply = await port.request(command);
    if (options.json) process.stdout.write(`${JSON.stringify(reply)}\n`);
    else process.stdout.write(`${replyLine(reply)}\n`);
    return reply.ok ? 0 : EXIT_REFUSED;
  } finally {
    port.close();
  }
}

function checkUsage(verb: ControlVerb, args: string[]): string | undefined {
  if (verb === 'status')
    return args.length > 1 ? 'name one loop at most, e.g. loops status fix-tests' : undefined;
  if (verb === 'resume' && (args.length === 1 || args.length === 2)) return undefined;
  if (args.length !== 1) {
    return verb === 'approve' || verb === 'deny'
      ? `give the approval's id, e.g. loops ${verb} 20261202-101500-ab12-a1 (loops status lists them)`
      : `give exactly one loop name, e.g. loops ${verb} fix-tests`;
  }
  return undefined;
}

/** The owner's port, or why there is none. */
async function attach(repo: string): Promise<RemoteSupervisor | string> {
  const root = statePaths(repo).root;
  const owner = await findOwner(root);
  if (owner.state === 'none')
    return `nothing is running: no loops owns state/ in ${repo} (start one with loops daemon, or loops)`;
  if (owner.state === 'unserved')
    return (
      `loops${owner.pid === undefined ? '' : ` (pid ${owner.pid})`} holds state/ in ${repo} but takes no commands ` +
      '(a loops run of its own, or one just starting); stop it with Ctrl-C there'
    );
  try {
    return await RemoteSupervisor.connect(owner.socket, { client: 'control' });
  } catch (error) {
    return `could not reach loops (pid ${owner.pid}): ${error instanceof Error ? error.message : String(error)}`;
  }
}

async function commandFor(
  verb: Exclude<ControlVerb, 'status'>,
  args: string[],
  options: CommonOptions,
  port: RemoteSupervisor,
): Promise<Command | string> {
  const [arg = ''] = args;
  if (verb === 'stop')
    return { type: 'stop', loop: arg, ...(options.reason ? { reason: options.reason } : {}) };
  if (verb === 'pause') return { type: verb, loop: arg };
  if (verb === 'resume') return { type: verb, loop: arg, ...(args[1] === undefined ? {} : { run: args[1] }) };
  // An approval is answered by its id; the loop and run it belongs to come from the owner's snapshot.
  const snapshot = await port.refresh();
  const pending = snapshot.approvals.find((a) => a.approvalId === arg);
  if (!pending) {
    const waiting = snapshot.approvals.map((a) => a.approvalId);
    return `no approval ${arg} is waiting${waiting.length ? ` (waiting: ${waiting.join(', ')})` : ' (none is waiting)'}`;
  }
  const target = { loop: pending.loop, run: pending.run, approvalId: pending.approvalId };
  if (verb === 'approve') return { type: 'approve', ...target };
  return { type: 'deny', ...target, reason: options.reason ?? 'denied from the command line' };
}

function replyLine(reply: CommandReply): string {
  return `${reply.loop}: ${reply.type} ${reply.status}: ${reply.reason}`;
}

async function status(port: RemoteSupervisor, loop: string | undefined, json: boolean): Promise<number> {
  const snapshot = await port.refresh();
  if (loop !== undefined && !snapshot.loops.some((l) => l.name === loop)) {
    process.stderr.write(`loops status: no loop named ${loop} (loops list shows them)\n`);
    return EXIT_REFUSED;
  }
  const shown = loop === undefined ? snapshot : only(snapshot, loop);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ owner: { pid: port.owner.pid, kind: port.owner.owner, attended: port.owner.attended }, ...shown }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(renderStatus(shown, port));
  return 0;
}

function only(snapshot: SupervisorSnapshot, loop: string): SupervisorSnapshot {
  return {
    ...snapshot,
    loops: snapshot.loops.filter((l) => l.name === loop),
    needs: snapshot.needs.filter((n) => n.loop === loop),
    runs: snapshot.runs.filter((r) => r.loop === loop),
    approvals: snapshot.approvals.filter((a) => a.loop === loop),
    queue: snapshot.queue.filter((q) => q.loop === loop),
    pendingInstructions: snapshot.pendingInstructions.filter((p) => p.loop === loop),
  };
}

export function renderStatus(snapshot: SupervisorSnapshot, port: Pick<RemoteSupervisor, 'owner'>): string {
  const out = [
    `loops ${port.owner.owner} (pid ${port.owner.pid}) owns state/; ${snapshot.inFlight} of ${snapshot.limit} runs in flight` +
      (port.owner.attended ? '' : '; approvals are denied at once'),
  ];
  const rows = snapshot.loops.map((info) => {
    const runs = snapshot.runs.filter((r) => r.loop === info.name);
    const queued = snapshot.queue.some((q) => q.loop === info.name);
    const state = runs.length
      ? runs
          .map(
            (r) =>
              `${r.status}${r.stalled ? ' (stalled)' : ''} run ${r.run} iteration ${r.iteration} (${r.trigger})`,
          )
          .join('; ')
      : queued
        ? 'queued'
        : `idle${info.lastOutcome ? `, last ${info.lastOutcome}` : ''}`;
    const extra = [
      info.nextDue ? `next due ${info.nextDue}` : '',
      info.waiting ? `waiting: ${info.waiting}` : '',
      info.problem ? 'INVALID: loops validate' : '',
    ].filter((s) => s !== '');
    return [info.name, state + (extra.length ? `  [${extra.join('; ')}]` : '')];
  });
  const width = Math.max(0, ...rows.map((r) => r[0]?.length ?? 0));
  for (const [name = '', state = ''] of rows) out.push(`  ${name.padEnd(width)}  ${state}`);
  if (snapshot.approvals.length > 0) {
    out.push('approvals waiting (loops approve ID, loops deny ID --reason TEXT):');
    for (const a of snapshot.approvals)
      out.push(`  ${a.approvalId}  ${a.loop}  ${a.tool} "${a.matched}" (rule ${a.rule})`);
  }
  for (const need of snapshot.needs) out.push(`needs you: ${need.loop}: ${need.reason}: ${need.detail}`);
  return `${out.join('\n')}\n`;
}

/**
 * `loops resume NAME [RUN]`: whether an owner serves the folder. Then the owner resumes it: a paused
 * run goes on, and otherwise it continues the last interrupted or budget-ended run (commands/resume.ts
 * continueInOwner), as `loops resume` does with no owner.
 */
export async function ownerServes(options: CommonOptions): Promise<boolean> {
  return (await findOwner(statePaths(options.repo).root)).state === 'served';
}
