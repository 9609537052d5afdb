#!/usr/bin/env node
// Builds dist/ only when a source is newer than the last build, so `npm start` and `npm run bench`
// open in seconds after the first time instead of paying for a whole TypeScript build each start.
// The stamp is written after a successful build only; a failed build leaves the next start to retry.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = info.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const inputs = ['src', 'package.json', 'package-lock.json', 'tsconfig.json'].map((p) => join(root, p));
const sources = Math.max(...inputs.filter((p) => existsSync(p)).map(newest));
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : -1;
if (built >= sources && !process.argv.includes('--force')) process.exit(0);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
writeFileSync(stamp, `${new Date().toISOString()}\n`);
