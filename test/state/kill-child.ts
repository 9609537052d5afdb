/**
 * Runs a fixture (test/state/fixtures/NAME.ts) that prints one line per unit of work done, until it
 * has printed `count` lines, then kills it with SIGKILL. Resolves with the lines seen, once it exited.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export async function runUntilKilled(fixture: string, args: string[], count: number): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', fixture), ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let seen = 0;
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      seen += parts.length;
      if (seen >= count && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code) => {
      if (!child.killed) reject(new Error(`${fixture} exited by itself (${code})`));
    });
  });
  await new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return seen;
}
