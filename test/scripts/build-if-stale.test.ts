import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The script builds its own project; a copy in a scratch project with a stand-in tsc counts the builds.
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'loops-build-'));
  mkdirSync(join(root, 'scripts'));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'dist'));
  mkdirSync(join(root, 'node_modules/typescript/bin'), { recursive: true });
  copyFileSync('scripts/build-if-stale.mjs', join(root, 'scripts/build-if-stale.mjs'));
  writeFileSync(
    join(root, 'node_modules/typescript/bin/tsc'),
    `require('fs').appendFileSync(${JSON.stringify(join(root, 'builds.txt'))}, 'x');`,
  );
  writeFileSync(join(root, 'package.json'), '{}');
  writeFileSync(join(root, 'src/a.ts'), 'export {};');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

const build = (): void => void execFileSync(process.execPath, [join(root, 'scripts/build-if-stale.mjs')]);
const builds = (): number => readFileSync(join(root, 'builds.txt'), 'utf8').length;

describe('build-if-stale', () => {
  it('builds the first time, skips when nothing changed, and rebuilds after a source changes', () => {
    build();
    expect(builds()).toBe(1);
    build();
    expect(builds()).toBe(1);
    const later = new Date(Date.now() + 5_000);
    writeFileSync(join(root, 'src/a.ts'), 'export const a = 1;');
    utimesSync(join(root, 'src/a.ts'), later, later);
    build();
    expect(builds()).toBe(2);
  });
});
