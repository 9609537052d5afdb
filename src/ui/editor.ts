/**
 * Editing text in the person's own editor while the screen is suspended: the frame stops being
 * written, the alternate screen is left, the editor gets the terminal (Ink has let go of raw mode
 * by then: the screen's `editing` state turns its input off), and afterwards the screen comes back
 * and is drawn whole. The text goes through a private temp file that is removed afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EditorTerminal {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Stops (true) or resumes (false) the screen's frames. */
  hold(on: boolean): void;
  /** Called once the editor has exited: the screen redraws whole. */
  redraw(): void;
}

const LEAVE = '\x1b[?1049l\x1b[?25h';
const ENTER = '\x1b[?1049h\x1b[2J\x1b[H';

/** Resolves with the saved text, or undefined when the editor exited with an error. */
export async function editInEditor(
  term: EditorTerminal,
  text: string,
  name: string,
): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'loops-edit-'));
  const file = join(dir, name.replace(/[^A-Za-z0-9._-]/g, '_') || 'edit.txt');
  await writeFile(file, text, { mode: 0o600 });
  await untilCooked(term.stdin);
  term.hold(true);
  term.stdout.write(LEAVE);
  try {
    const editor = term.env.VISUAL || term.env.EDITOR || 'vi';
    // The editor may carry arguments ("code -w"): run through the shell, the file name quoted.
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(`${editor} '${file.replaceAll("'", "'\\''")}'`, {
        shell: true,
        stdio: 'inherit',
        env: { ...process.env },
      });
      child.on('error', reject);
      child.on('exit', (status) => resolve(status));
    });
    return code === 0 ? await readFile(file, 'utf8') : undefined;
  } finally {
    term.stdout.write(ENTER);
    term.hold(false);
    term.redraw();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits (a few turns of the event loop at most) for Ink to leave raw mode. */
async function untilCooked(stdin: NodeJS.ReadStream): Promise<void> {
  for (let i = 0; i < 100 && stdin.isRaw === true; i++) await new Promise((resolve) => setImmediate(resolve));
}
