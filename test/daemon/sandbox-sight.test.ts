/**
 * The owner's socket is out of a run's sight: from inside the sandbox, the agent's `run` tool can
 * neither see nor connect to state/loops.sock, nor to the fallback socket in its private folder
 * (even when that folder lies where the sandbox could otherwise read).
 */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fallbackSocketDir } from '../../src/daemon/socket-path.js';
import { createToolbox, executeTool } from '../../src/tools/toolbox.js';
import { FRONT, makeSandboxFixture, type SandboxFixture } from '../process/sandbox-fixture.js';

let fx: SandboxFixture;
const servers: net.Server[] = [];

beforeAll(async () => {
  fx = await makeSandboxFixture();
}, 60_000);

afterAll(async () => {
  for (const s of servers) s.close();
  await fx?.cleanup();
});

async function listen(socketPath: string): Promise<void> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('{"kind":"welcome"}\n');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
}

const probe = (p: string): string =>
  `node -e "const s=require('net').connect(${JSON.stringify(p).replace(/"/g, "'")});` +
  `s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log('REFUSED '+e.code)})"`;

it('cannot reach state/loops.sock or the fallback socket from inside a run', async () => {
  const inState = path.join(fx.repo, 'state', 'loops.sock');
  await listen(inState);
  // The fallback folder where the sandbox would otherwise see it: under the (read-only) repository.
  const runtime = path.join(fx.repo, 'runtime');
  mkdirSync(runtime, { mode: 0o700 });
  const dir = fallbackSocketDir(path.join(fx.repo, 'state'), { XDG_RUNTIME_DIR: runtime });
  mkdirSync(dir, { mode: 0o700 });
  const fallback = path.join(dir, 'loops.sock');
  await listen(fallback);

  // Reachable from outside, so a refusal inside is the sandbox's doing.
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(fallback, () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });

  const sandbox = await fx.open(FRONT, { XDG_RUNTIME_DIR: runtime });
  try {
    const tools = createToolbox(['run']);
    const run = async (command: string): Promise<string> =>
      (
        await executeTool(
          tools,
          { id: `c-${Math.random()}`, name: 'run', input: { command } },
          { ...fx.toolContext, sandbox },
        )
      ).output;
    for (const target of [inState, fallback]) {
      const out = await run(probe(target));
      expect(out, target).not.toContain('CONNECTED');
      expect(out, target).toMatch(/REFUSED (ENOENT|EACCES|ECONNREFUSED)/);
    }
    expect(await run(`ls -A ${JSON.stringify(dir)} || true`)).not.toContain('loops.sock');
  } finally {
    await sandbox.dispose();
  }
});
