/**
 * `loops resume NAME` of a run that ended on its budget (not a paused one) while a daemon owns the
 * folder: the daemon continues it in a run of its own, instead of this process trying the lock and
 * being refused. Separate processes on a real socket.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli, startCli, type RunningCli } from './cli-process.js';

const LOOP =
  '---\nname: budgeted\nagent: { provider: scripted }\nverify:\n  - command: "false"\nbudget: { iterations: 1 }\n---\nTry.\n';
const SCRIPT =
  'turns:\n  - repeat: true\n    tool_calls:\n      - { name: write_file, input: { path: note.txt, content: "tried\\n" } }\n';

let repo: TestRepo;
let scratch: string;
const clis: RunningCli[] = [];

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-resume-owner-'));
  await repo.addLoop('budgeted', LOOP, SCRIPT);
});

afterEach(async () => {
  await Promise.all(clis.splice(0).map((c) => c.kill()));
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const inRepo = (args: string[]) => runCli(args, { scratch, cwd: repo.dir });

interface Status {
  runs: Array<{ loop: string; run: string }>;
}

it('hands the resume of a budget-ended run to the daemon that owns the folder', async () => {
  const first = await inRepo(['run', 'budgeted', '--json']);
  const ended = JSON.parse(first.stdout) as { run: string; outcome: string };
  expect(ended.outcome).toBe('budget');

  const daemon = startCli(['daemon'], { scratch, cwd: repo.dir });
  clis.push(daemon);
  await vi.waitFor(async () => expect((await inRepo(['status', '--json'])).exitCode).toBe(0), {
    timeout: 20_000,
    interval: 100,
  });

  const resumed = await inRepo(['resume', 'budgeted']);
  expect(resumed.stderr).toBe('');
  expect(resumed.exitCode).toBe(0);
  const match = /^budgeted: resume started: continuing run (\S+) from iteration \d+ as run (\S+)$/m.exec(
    resumed.stdout,
  );
  expect(match?.[1]).toBe(ended.run);
  const newRun = match?.[2] ?? '';
  // The owner ran it to its end (its budget again: the loop was given no more).
  await vi.waitFor(
    async () => {
      const st = JSON.parse((await inRepo(['status', '--json'])).stdout) as Status;
      expect(st.runs).toEqual([]);
    },
    { timeout: 60_000, interval: 200 },
  );
  expect(existsSync(join(repo.dir, 'state', 'budgeted', 'traces', `${newRun}.jsonl`))).toBe(true);
  // Nothing left to continue but that new run: a second resume continues it, not the first.
  const again = await inRepo(['resume', 'budgeted']);
  expect(again.stdout).toContain(`continuing run ${newRun}`);
  daemon.signal('SIGTERM');
  expect((await daemon.result).exitCode).toBe(0);
}, 120_000);
