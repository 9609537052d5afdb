/**
 * A JobContext with no supervisor behind it: it records the commands a trigger sends and answers
 * them as the test says, and lets the test publish events (loops.changed, run.ended) to the job.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, CommandReply } from '../../src/core/control.js';
import type { JobContext } from '../../src/core/jobs.js';
import type { LoopDefinition } from '../../src/core/definition/schema.js';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { loadLoop } from '../../src/core/definition/load.js';
import { statePaths } from '../../src/state/paths.js';

export interface FakeContext {
  ctx: JobContext;
  sent: Command[];
  emitted: Array<{ source: string; loop: string; body: LoopEventBody }>;
  errors: unknown[];
  /** What the next start is answered (default: started). */
  answer: (command: Command) => Pick<CommandReply, 'status' | 'reason' | 'ok'> & { run?: string };
  defs: LoopDefinition[];
  publish(event: LoopEvent): void;
  cleanup(): Promise<void>;
  abort: AbortController;
}

export async function fakeContext(defs: LoopDefinition[], repoRoot?: string): Promise<FakeContext> {
  const dir = repoRoot ?? (await mkdtemp(join(tmpdir(), 'loops-trigger-')));
  const listeners = new Set<(e: LoopEvent) => void>();
  const abort = new AbortController();
  let n = 0;
  const fake: FakeContext = {
    sent: [],
    emitted: [],
    errors: [],
    defs,
    answer: () => ({ ok: true, status: 'started', reason: 'started' }),
    publish: (event) => {
      for (const l of [...listeners]) l(event);
    },
    cleanup: () => (repoRoot ? Promise.resolve() : rm(dir, { recursive: true, force: true })),
    abort,
    ctx: undefined as unknown as JobContext,
  };
  const send = (command: Command): CommandReply => {
    fake.sent.push(command);
    n += 1;
    const a = fake.answer(command);
    return {
      id: command.id ?? `c${n}`,
      type: command.type,
      loop: command.loop,
      ...a,
      ...(a.status === 'started' && a.run === undefined ? { run: `run-${n}` } : {}),
    };
  };
  const subscribe = (l: (e: LoopEvent) => void): (() => void) => {
    listeners.add(l);
    return () => listeners.delete(l);
  };
  fake.ctx = {
    repoRoot: dir,
    paths: statePaths(dir),
    env: {},
    port: { loops: () => [], send, subscribe },
    send,
    subscribe,
    definitions: () => fake.defs,
    emit: (source, loop, body) => fake.emitted.push({ source, loop, body }),
    drainQueue: () => undefined,
    signal: abort.signal,
    reportError: (error) => fake.errors.push(error),
  };
  return fake;
}

/** A valid definition from LOOP.md front matter, loaded from a folder as loops loads it. */
export async function definition(name: string, frontMatter: string, dir?: string): Promise<LoopDefinition> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'loops-def-')));
  await mkdir(join(root, 'loops', name), { recursive: true });
  const text = `---\nname: ${name}\nagent: { provider: scripted }\nverify:\n  - command: "true"\n${frontMatter}\n---\nDo it.\n`;
  await writeFile(join(root, 'loops', name, 'LOOP.md'), text);
  await writeFile(join(root, 'loops', name, 'SCRIPT.yaml'), 'turns:\n  - text: ok\n');
  const result = await loadLoop(root, name);
  if (!dir) await rm(root, { recursive: true, force: true });
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return result.definition;
}
