/** Every call in a repository's spend ledger (state/<loop>/spend/<run>.jsonl), oldest first. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallRecord } from '../../src/state/ledger.js';
import { readSpendFile } from '../../src/state/spend-file.js';

export async function readAllSpend(repoDir: string): Promise<CallRecord[]> {
  const state = join(repoDir, 'state');
  const calls: CallRecord[] = [];
  for (const loop of await readdir(state).catch(() => [] as string[])) {
    const dir = join(state, loop, 'spend');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.endsWith('.jsonl')) calls.push(...(await readSpendFile(join(dir, name))).calls);
    }
  }
  return calls.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}
