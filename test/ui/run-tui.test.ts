import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { runTui } from '../../src/ui/run-tui.js';
import { FakePort, loopInfo, runEvents, started } from './fake-port.js';

/** A terminal-sized output stream that keeps what was written. */
class FakeTerminal extends EventEmitter {
  columns = 90;
  rows = 30;
  isTTY = true;
  written = '';
  write = (chunk: string): boolean => {
    this.written += chunk;
    return true;
  };
}

/** The stdin surface Ink 6 uses, in raw-mode-capable form (as ink-testing-library's). */
class FakeKeyboard extends EventEmitter {
  isTTY = true;
  private pending: string | null = null;
  type(data: string): void {
    this.pending = data;
    this.emit('readable');
  }
  read = (): string | null => {
    const data = this.pending;
    this.pending = null;
    return data;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

describe('runTui', () => {
  it('draws in the alternate screen, clears on resize and leaves it after q', async () => {
    const port = new FakePort([loopInfo('fix-tests')]);
    const stdout = new FakeTerminal();
    const stdin = new FakeKeyboard();
    const done = runTui(port, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      patchConsole: false,
    });
    await vi.waitFor(() => expect(stdout.written).toContain('fix-tests'));
    expect(stdout.written.startsWith('\u001B[?1049h')).toBe(true);

    stdout.columns = 70;
    stdout.emit('resize');
    expect(stdout.written).toContain('\u001B[2J');

    const e = runEvents('fix-tests', 'r1');
    port.emit(e(started()));
    await vi.waitFor(() => expect(stdout.written).toMatch(/fix-tests\s+running/));
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    stdin.type('q');
    await vi.waitFor(() => expect(port.sent).toEqual([{ type: 'stop', loop: 'fix-tests' }]));
    port.emit(e({ type: 'iteration.started' }));
    await vi.waitFor(() => expect(stdout.written).toMatch(/fix-tests\s+stopping\s+manual\s+1\/10/));
    expect(finished).toBe(false);

    port.emit(
      e({
        type: 'run.ended',
        outcome: 'stopped',
        reason: 'stopped by a person',
        iterations: 1,
        toolCalls: 0,
        spend: { usd: 0, unpricedCalls: 0 },
        usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        branch: 'b',
        worktree: 'w',
        durationMs: 1,
      }),
    );
    await done;
    expect(stdout.written.endsWith('\u001B[?1049l')).toBe(true);
    expect(port.listenerCount).toBe(0);
  });
});

describe('runTui editor', () => {
  it('e hands the diff to $EDITOR with the screen suspended, then accepts what was saved', async () => {
    const { mkdtemp, writeFile, chmod, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'loops-editor-'));
    const editor = join(dir, 'edit.sh');
    // An "editor" that appends a line to the file it is given.
    await writeFile(editor, '#!/bin/sh\necho "+edited by the person" >> "$1"\n');
    await chmod(editor, 0o755);
    const accepted: Array<string | undefined> = [];
    const proposals = {
      list: () =>
        Promise.resolve([
          {
            id: 'p1',
            loop: 'fix-tests',
            status: 'pending' as const,
            file: 'loops/fix-tests/SKILL.md',
            title: 'a change',
            rationale: '',
            diff: '+original\n',
            signatures: [],
            evaluation: [],
            effect: 'not evaluated',
            createdAt: '2026-01-01T00:00:00.000Z',
            costUsd: null,
          },
        ]),
      accept: (_id: string, options?: { diff?: string }) => {
        accepted.push(options?.diff);
        return Promise.resolve({ ok: true as const, detail: 'committed' });
      },
      reject: () => Promise.resolve({ ok: true as const, detail: '' }),
      improve: () => Promise.resolve({ ok: true as const, detail: '' }),
    };
    const port = new FakePort([loopInfo('fix-tests')]);
    const stdout = new FakeTerminal();
    stdout.rows = 60;
    const stdin = new FakeKeyboard();
    const done = runTui(port, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      patchConsole: false,
      proposals,
      env: { EDITOR: editor },
    });
    try {
      await vi.waitFor(() => expect(stdout.written).toContain('+original'));
      for (let i = 0; i < 5; i++) stdin.type('\t');
      await vi.waitFor(() => expect(stdout.written).toContain('y accept · n reject · e edit'));
      stdin.type('e');
      await vi.waitFor(() => expect(accepted).toEqual(['+original\n+edited by the person\n']));
      // The screen left the alternate buffer for the editor and came back to it.
      expect(stdout.written.split('\u001B[?1049l').length).toBeGreaterThan(1);
      await vi.waitFor(() => expect(stdout.written).toContain('accepted (edited)'));
    } finally {
      stdin.type('q');
      await done;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
