/**
 * A real terminal for the end-to-end test: one tmux server on its own socket (so it never touches a
 * person's sessions or config), one session, keys in and the screen out.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { vi } from 'vitest';

export interface Terminal {
  /** Types a command line into the shell and presses Enter. */
  type(line: string): Promise<void>;
  /** Sends keys as tmux names them: "Enter", "Escape", or literal text with `literal`. */
  press(key: string, options?: { literal?: boolean }): Promise<void>;
  screen(): Promise<string>;
  /** Captures the screen every 100 ms until it matches; fails with the last screen when it never does. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Kills the tmux server and everything running in it. */
  close(): Promise<void>;
}

/** Fails, rather than skips, when tmux is missing: this test is the only one of the real terminal. */
export async function requireTmux(): Promise<void> {
  const probe = await execa('tmux', ['-V'], { reject: false });
  if (probe.failed) {
    throw new Error(
      `tmux is required for the end-to-end test but "tmux -V" failed (${probe.shortMessage}); ` +
        'install tmux (apt-get install tmux, brew install tmux) and run the tests again',
    );
  }
}

export async function openTerminal(options: {
  cwd: string;
  columns: number;
  rows: number;
}): Promise<Terminal> {
  const socket = `loops-e2e-${randomBytes(6).toString('hex')}`;
  const session = 'loops';
  // -f /dev/null: a person's ~/.tmux.conf must not change keys or the screen under test.
  const tmux = (...args: string[]): Promise<{ stdout: string }> =>
    execa('tmux', ['-L', socket, '-f', '/dev/null', ...args]);
  await tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    String(options.columns),
    '-y',
    String(options.rows),
    '-c',
    options.cwd,
    'bash --norc --noprofile',
  );
  const screen = async (): Promise<string> => (await tmux('capture-pane', '-p', '-t', session)).stdout;
  return {
    async type(line) {
      await tmux('send-keys', '-t', session, '-l', line);
      await tmux('send-keys', '-t', session, 'Enter');
    },
    async press(key, pressOptions) {
      await tmux('send-keys', '-t', session, ...(pressOptions?.literal ? ['-l'] : []), key);
    },
    screen,
    async waitFor(pattern, timeoutMs = 20_000) {
      let last = '';
      await vi.waitFor(
        async () => {
          last = await screen();
          if (!pattern.test(last)) throw new Error(`the screen never matched ${pattern}; it shows:\n${last}`);
        },
        { timeout: timeoutMs, interval: 100 },
      );
      return last;
    },
    async close() {
      await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
    },
  };
}
