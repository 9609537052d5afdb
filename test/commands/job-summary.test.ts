import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/cli-process.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-summary-'));
});

afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

describe('loops run inside GitHub Actions', () => {
  it('appends the run summary (outcome, spend, graders, branch) to GITHUB_STEP_SUMMARY', async () => {
    const page = join(scratch, 'summary.md');
    const result = await runCli(['run', 'fix-tests', '--json'], {
      scratch,
      cwd: repo.dir,
      env: { GITHUB_STEP_SUMMARY: page },
    });
    expect(result.exitCode).toBe(0);
    const run = (JSON.parse(result.stdout) as { run: string; branch: string }).run;
    const text = await readFile(page, 'utf8');
    expect(text).toContain(`# fix-tests: run ${run}`);
    expect(text).toContain('**verified**');
    expect(text).toMatch(/\| spend \| \$\d/);
    expect(text).toContain('## Graders');
    expect(text).toMatch(/\| 1 \| .* \| fail \|/);
    expect(text).toContain(`loops/fix-tests/${run}`);
  });

  it('writes no summary page outside Actions', async () => {
    const result = await runCli(['run', 'fix-tests'], { scratch, cwd: repo.dir });
    expect(result.exitCode).toBe(0);
    expect(existsSync(join(scratch, 'summary.md'))).toBe(false);
  });
});
