import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scrubEnv } from '../../src/process/env.js';
import { capText, OutputCollector } from '../../src/process/output-cap.js';
import { runShell } from '../../src/process/shell.js';
import { createToolbox, executeTool } from '../../src/tools/toolbox.js';
import type { ToolContext } from '../../src/tools/types.js';
import { tempDir } from '../tools/temp-dir.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('shell'));
});
afterEach(() => cleanup());

/** Alive and not a zombie waiting to be reaped (containers may have no init to reap it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
  return state !== 'Z' && state !== 'X';
}

const opts = () => ({ cwd: dir, timeoutMs: 20_000, outputCap: 10_000 });

describe('scrubEnv', () => {
  it('drops a secret by its value too: under an innocent name, or inside another value', () => {
    const env = scrubEnv({
      PATH: '/usr/bin',
      SERVICE_PASSWORD: 'hunter2-very-long',
      BACKUP_COPY: 'hunter2-very-long',
      DB_URL: 'postgres://app:hunter2-very-long@db/app',
      SHORT_TOKEN: 'abc',
      GREETING: 'abc',
    });
    expect(env).toEqual({ PATH: '/usr/bin', GREETING: 'abc' });
  });

  it('removes keys, tokens and secrets and keeps the rest', () => {
    const env = scrubEnv({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      CI: 'true',
      ANTHROPIC_API_KEY: 'a',
      ANTHROPIC_BASE_URL: 'b',
      OPENAI_API_KEY: 'c',
      OPENAI_BASE_URL: 'd',
      AWS_ACCESS_KEY_ID: 'e',
      AWS_PROFILE: 'f',
      GITHUB_TOKEN: 'g',
      GH_TOKEN: 'h',
      NPM_TOKEN: 'i',
      STRIPE_SECRET: 'j',
      DB_PASSWORD: 'k',
      GEMINI_API_KEY: 'l',
      MY_APIKEY_FILE: 'm',
      SIGNING_KEY: 'n',
      CLIENT_SECRET_ID: 'o',
      npm_config__authToken: 'p',
      UNSET: undefined,
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/u', LANG: 'C.UTF-8', CI: 'true' });
  });
});

describe('output capping', () => {
  it('keeps head and tail around a marker', () => {
    expect(capText('short', 10)).toEqual({ text: 'short', truncated: false });
    expect(capText('abcdefghijklmnopqrstuvwxyz', 10)).toEqual({
      text: 'abcde\n[… 16 chars cut …]\nvwxyz',
      truncated: true,
    });
  });

  it('collects a stream in bounded memory with the same result', () => {
    const collector = new OutputCollector(10);
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') collector.push(ch);
    expect(collector.truncated).toBe(true);
    expect(collector.text()).toBe('abcde\n[… 16 chars cut …]\nvwxyz');
    const small = new OutputCollector(10);
    small.push('abc');
    small.push('def');
    expect(small.text()).toBe('abcdef');
    expect(small.truncated).toBe(false);
  });
});

describe('runShell', () => {
  it('returns the exit code and stdout and stderr together, without throwing', async () => {
    const result = await runShell('echo out; echo err >&2; exit 3', opts());
    expect(result.exitCode).toBe(3);
    expect(result.output.split('\n').sort()).toEqual(['', 'err', 'out']);
    expect(result).toMatchObject({ timedOut: false, canceled: false, truncated: false });
  });

  it('runs in the given directory with no stdin', async () => {
    const result = await runShell('pwd; cat; echo done', opts());
    expect(result.output).toBe(`${dir}\ndone\n`);
    expect(result.exitCode).toBe(0);
  });

  it('kills the whole process tree on timeout', async () => {
    const result = await runShell('sleep 60 & echo $! > bg.pid; sleep 60', { ...opts(), timeoutMs: 1_000 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    const pid = Number(await readFile(path.join(dir, 'bg.pid'), 'utf8'));
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('kills background children left when the command exits', async () => {
    const result = await runShell('sleep 60 & echo $! > bg.pid; echo started', opts());
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe('started\n');
    const pid = Number(await readFile(path.join(dir, 'bg.pid'), 'utf8'));
    await vi.waitFor(() => expect(alive(pid)).toBe(false));
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const running = runShell('touch started; sleep 60', { ...opts(), signal: controller.signal });
    await vi.waitFor(() => expect(existsSync(path.join(dir, 'started'))).toBe(true));
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ canceled: true, timedOut: false, exitCode: null });
  });

  it('does not start when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runShell('touch ran', { ...opts(), signal: controller.signal });
    expect(result.canceled).toBe(true);
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('caps output keeping the head and the tail', async () => {
    await writeFile(path.join(dir, 'loud.js'), "process.stdout.write('START' + 'x'.repeat(100000) + 'END')");
    const result = await runShell('node loud.js', { ...opts(), outputCap: 1000 });
    expect(result.truncated).toBe(true);
    expect(result.output.startsWith('STARTxxx')).toBe(true);
    expect(result.output.endsWith('xxxEND')).toBe(true);
    expect(result.output).toContain('[… 99008 chars cut …]');
    expect(result.exitCode).toBe(0);
  });

  it('passes only the given environment', async () => {
    const env = scrubEnv({
      ...process.env,
      ANTHROPIC_API_KEY: 'sk-ant-hidden',
      OPENAI_API_KEY: 'sk-oa-hidden',
      KEEP: 'yes',
    });
    const result = await runShell('env', { ...opts(), env });
    expect(result.output).toContain('KEEP=yes');
    expect(result.output).toMatch(/^PATH=/m);
    expect(result.output).not.toContain('sk-ant-hidden');
    expect(result.output).not.toContain('sk-oa-hidden');
    expect(result.output).not.toContain('API_KEY');
  });

  it('reports a command that could not start', async () => {
    const result = await runShell('echo hi', { ...opts(), cwd: path.join(dir, 'missing') });
    expect(result.exitCode).toBeNull();
    expect(result.spawnError).toContain('does not exist');
  });
});

describe('the run tool', () => {
  const tools = createToolbox(['run']);
  const ctx = (): ToolContext => ({
    worktree: dir,
    runTimeoutMs: 20_000,
    outputCap: 10_000,
    protectedPaths: [],
  });
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('says the exit code, ok only for 0', async () => {
    const pass = await executeTool(tools, { id: '1', name: 'run', input: { command: 'echo hello' } }, ctx());
    expect(pass).toEqual({ ok: true, output: 'hello\n[exit code 0]' });
    const fail = await executeTool(
      tools,
      { id: '2', name: 'run', input: { command: 'echo nope >&2; exit 2' } },
      ctx(),
    );
    expect(fail).toEqual({ ok: false, output: 'nope\n[exit code 2]' });
  });

  it('times out at the smaller of its own and the loop limit', async () => {
    const result = await executeTool(
      tools,
      { id: '1', name: 'run', input: { command: 'echo begun; sleep 60', timeout_seconds: 0.3 } },
      ctx(),
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain('begun');
    expect(result.output).toContain('[timed out after 0.3s');
    const capped = await executeTool(
      tools,
      { id: '2', name: 'run', input: { command: 'sleep 60', timeout_seconds: 600 } },
      { ...ctx(), runTimeoutMs: 300 },
    );
    expect(capped.output).toContain('timed out after 0.3s');
  });

  it('caps output at the context cap', async () => {
    const result = await executeTool(
      tools,
      { id: '1', name: 'run', input: { command: 'node -e "process.stdout.write(\'y\'.repeat(50000))"' } },
      { ...ctx(), outputCap: 500 },
    );
    expect(result.output).toContain('chars cut');
    expect(result.output.length).toBeLessThan(600);
  });

  it('hides API keys of the parent process from the command', async () => {
    process.env.ANTHROPIC_API_KEY = 'sk-ant-from-parent';
    process.env.OPENAI_API_KEY = 'sk-openai-from-parent';
    process.env.LOOPS_VISIBLE = 'visible';
    const result = await executeTool(tools, { id: '1', name: 'run', input: { command: 'env' } }, ctx());
    expect(result.output).toContain('LOOPS_VISIBLE=visible');
    expect(result.output).not.toContain('sk-ant-from-parent');
    expect(result.output).not.toContain('sk-openai-from-parent');
  });
});
