import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/** A fresh temporary folder per test, removed afterwards. Read `.path` inside a test. */
export function tempDirPerTest(): { path: string } {
  const dir = { path: '' };
  beforeEach(async () => {
    dir.path = await mkdtemp(path.join(os.tmpdir(), 'loops-state-'));
  });
  afterEach(async () => {
    await rm(dir.path, { recursive: true, force: true });
  });
  return dir;
}
