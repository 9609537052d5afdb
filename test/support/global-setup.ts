/**
 * Builds dist/ once before the suite, so the CLI tests run what users run. Type errors do not stop
 * the emit (the typecheck step reports them); they are printed here so a stale build is never silent.
 */
import { execa } from 'execa';

export default async function setup(): Promise<void> {
  const result = await execa('npx', ['tsc', '-p', 'tsconfig.json'], { reject: false, all: true });
  if (result.exitCode !== 0) process.stderr.write(`\n[global-setup] tsc reported errors:\n${result.all}\n`);
}
