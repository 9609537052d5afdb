/** The repository's replace refs (refs/replace/*), read from the ref files: loose ones and packed-refs. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

async function loose(dir: string, prefix: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    const name = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await loose(path.join(dir, entry.name), name)));
    else if (!entry.name.endsWith('.lock')) found.push(name);
  }
  return found;
}

export async function readReplaceRefs(commonDir: string): Promise<string[]> {
  const found = await loose(path.join(commonDir, 'refs', 'replace'), 'refs/replace');
  const packed = await readFile(path.join(commonDir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    const name = line.split(' ')[1];
    if (name?.startsWith('refs/replace/')) found.push(name);
  }
  return [...new Set(found)].sort();
}
