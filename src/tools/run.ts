import { realpath } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool } from './define.js';
import { runShell, type ShellResult } from '../process/shell.js';

const input = z.strictObject({
  command: z
    .string()
    .min(1)
    .describe('A shell command, run from the worktree root. No input can be typed into it.'),
  timeout_seconds: z
    .number()
    .positive()
    .optional()
    .describe("Stop it after this many seconds. It can only lower the loop's own limit."),
});

export const runTool = defineTool({
  name: 'run',
  description:
    'Run a shell command in the worktree and return its exit code and output (stdout and stderr together; ' +
    'long output keeps its start and end). Runs without a terminal or stdin and is killed, with everything it ' +
    'started, when the time limit passes. Unless the loop turned the sandbox off, it runs sandboxed: only the ' +
    'worktree and a private /tmp are writable, HOME is an empty folder, the rest of the file system is ' +
    'read-only, and the network is off unless the loop allows it.',
  input,
  async run({ command, timeout_seconds: timeoutSeconds }, ctx) {
    const limit =
      timeoutSeconds === undefined ? ctx.runTimeoutMs : Math.min(ctx.runTimeoutMs, timeoutSeconds * 1000);
    const cwd = await realpath(ctx.worktree);
    const result = await runShell(command, {
      cwd,
      timeoutMs: limit,
      outputCap: ctx.outputCap,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
      profile: 'agent',
    });
    return { ok: result.exitCode === 0, output: describe(result, limit) };
  },
});

function describe(result: ShellResult, limitMs: number): string {
  const output = result.output.length > 0 ? result.output.replace(/\n$/, '') : '(no output)';
  if (result.spawnError !== undefined) return result.spawnError;
  if (result.timedOut) {
    return (
      `${output}\n[timed out after ${limitMs / 1000}s: the command and everything it started were killed; ` +
      'run something shorter, or in smaller steps]'
    );
  }
  if (result.canceled) return `${output}\n[canceled: the run was stopped]`;
  return `${output}\n[exit code ${result.exitCode ?? 'unknown'}]`;
}
