/** The fleet file through the built CLI: validate, and `loops run --headless` refusing or notifying. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';

let repo: TestRepo;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  scratch = await mkdtemp(join(tmpdir(), 'loops-fleet-cli-'));
  await repo.addLoop(
    'quick',
    '---\nname: quick\nagent: { provider: scripted }\nverify:\n  - command: "true"\nsandbox: off\n---\nBe quick.\n',
    'turns:\n  - text: "done"\n    repeat: true\n',
  );
}, 60_000);
afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

describe('loops.yaml in the CLI', () => {
  it('validate reports its problems at line and field, and exits 2', async () => {
    await writeFile(join(repo.dir, 'loops', 'loops.yaml'), 'budget:\n  daily_usd: 5\n  hourly_usd: 1\n');
    const r = await runCli(['validate'], { scratch, cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^loops\/loops\.yaml:3: budget\.hourly_usd: unknown key "hourly_usd"/m);
    expect(r.stdout).toContain('ok  quick');

    await writeFile(join(repo.dir, 'loops', 'loops.yaml'), 'budget:\n  daily_usd: 5\n');
    const ok = await runCli(['validate'], { scratch, cwd: repo.dir });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('ok  loops/loops.yaml');
  }, 60_000);

  it('loops run refuses to start with a loops.yaml it cannot apply', async () => {
    await writeFile(join(repo.dir, 'loops', 'loops.yaml'), 'max_concurrent: zero\n');
    const r = await runCli(['run', 'quick', '--headless'], { scratch, cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/loops\/loops\.yaml:1: max_concurrent: /);
  }, 60_000);

  it('loops resume holds to the fleet file as loops run does: one it cannot apply stops it', async () => {
    await writeFile(join(repo.dir, 'loops', 'loops.yaml'), 'max_concurrent: zero\n');
    const r = await runCli(['resume', 'quick'], { scratch, cwd: repo.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/loops\/loops\.yaml:1: max_concurrent: /);
  }, 60_000);

  it('loops run posts the outcome before it exits', async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-part`;
      const r = await runCli(['run', 'quick', '--headless'], {
        scratch,
        cwd: repo.dir,
        env: { LOOPS_NOTIFY_URL: url },
      });
      expect(r.exitCode).toBe(0);
      expect(bodies).toEqual([
        expect.objectContaining({ kind: 'outcome', loop: 'quick', outcome: 'verified' }),
      ]);
      expect(r.stderr).toContain('→ notified: outcome of quick (HTTP 200)');
      expect(r.stderr + r.stdout).not.toContain('secret-part');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 60_000);
});
