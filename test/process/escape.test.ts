/**
 * Escape attempts through the agent's `run` tool, as an attacker would try them. Each test fails if
 * the write, read or signal gets through; each is checked from outside the sandbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sh } from '../workspace/git-repo.js';
import {
  HOLDOUT_MARK,
  makeSandboxFixture,
  SSH_MARK,
  STATE_MARK,
  type SandboxFixture,
} from './sandbox-fixture.js';

const SECRET = 'sk-test-a8f3e1c9d2b7465f';
let fx: SandboxFixture;
const saved = { ...process.env };

beforeAll(async () => {
  // loops' own environment holds a key, and a copy of it under a name that does not look secret.
  process.env.LOOPS_ESCAPE_API_KEY = SECRET;
  process.env.INNOCENT_LOOKING = SECRET;
  process.env.DB_URL_COPY = `postgres://app:${SECRET}@db/app`;
  fx = await makeSandboxFixture();
}, 60_000);

afterAll(async () => {
  for (const name of ['LOOPS_ESCAPE_API_KEY', 'INNOCENT_LOOKING', 'DB_URL_COPY']) delete process.env[name];
  Object.assign(process.env, saved);
  await fx?.cleanup();
});

const unique = (): string => `${process.pid}-${Math.random().toString(36).slice(2)}`;

describe('the sandbox keeps what should work working', () => {
  it('writes in the worktree and the private /tmp, and reads the checkout', async () => {
    const result = await fx.run(
      'echo made > made.txt && echo t > /tmp/t && cat /tmp/t && test -r README.md && echo readable',
    );
    expect(result.output).toContain('readable');
    expect(result.ok).toBe(true);
    expect(readFileSync(path.join(fx.worktree, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it('runs git read commands in the worktree', async () => {
    const result = await fx.run('git log --oneline | head -1 && git status --short | head -3');
    expect(result.output).toContain('a loop, holdout files');
  });
});

describe('writes outside the worktree fail', () => {
  it('to /tmp outside the private one', async () => {
    const name = `loops-escape-${unique()}`;
    await fx.run(`echo pwned > /tmp/${name}`);
    expect(existsSync(path.join(os.tmpdir(), name))).toBe(false);
    expect(existsSync(path.join('/tmp', name))).toBe(false);
  });

  it("to the main checkout's LOOP.md (every grader turned into `true`)", async () => {
    const file = path.join(fx.repo, 'loops', 'esc', 'LOOP.md');
    const before = readFileSync(file, 'utf8');
    const result = await fx.run(
      `printf -- '---\\nname: esc\\nverify: [{command: "true"}]\\n---\\n' > ${file}`,
    );
    expect(result.ok).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('by walking up with cd ..', async () => {
    await fx.run('cd ../../../.. && echo pwned > pwned-by-cd.txt; cd .. && echo pwned > pwned-by-cd.txt');
    expect(existsSync(path.join(fx.repo, 'pwned-by-cd.txt'))).toBe(false);
    expect(existsSync(path.join(path.dirname(fx.repo), 'pwned-by-cd.txt'))).toBe(false);
  });

  it('through a symlink the agent made to the main checkout', async () => {
    const target = path.join(fx.repo, 'README.md');
    await fx.run(`ln -sf ${target} link-to-main && echo pwned > link-to-main`);
    expect(readFileSync(target, 'utf8')).toBe('hello\n');
  });

  it('through a hard link to the main checkout', async () => {
    const target = path.join(fx.repo, 'README.md');
    await fx.run(`ln ${target} hard-link; echo pwned >> hard-link`);
    expect(readFileSync(target, 'utf8')).toBe('hello\n');
  });

  it("to the shared .git's hooks", async () => {
    const hook = path.join(fx.repo, '.git', 'hooks', 'pre-commit');
    await fx.run(`printf '#!/bin/sh\\necho pwned\\n' > ${hook}; chmod +x ${hook}`);
    expect(existsSync(hook)).toBe(false);
  });

  it('to .git/config with git config core.hooksPath', async () => {
    await fx.run('git config core.hooksPath /tmp/evil-hooks; git config --global core.hooksPath /tmp/evil');
    expect(() => sh(fx.repo, 'config', '--get', 'core.hooksPath')).toThrow();
    expect(readFileSync(path.join(fx.repo, '.git', 'config'), 'utf8')).not.toContain('hooksPath');
  });

  it('as new refs: a branch, a tag, a replace ref', async () => {
    await fx.run(
      'git update-ref refs/heads/evil HEAD; git tag evil-tag; ' +
        'git replace HEAD $(git commit-tree -m fake "HEAD^{tree}")',
    );
    const refs = sh(fx.repo, 'for-each-ref', '--format=%(refname)');
    expect(refs).not.toContain('evil');
    expect(refs).not.toContain('refs/replace');
  });

  it("as a commit on the run's branch (loops commits, outside the sandbox)", async () => {
    const before = sh(fx.repo, 'rev-parse', 'loops/esc/r1');
    await fx.run('echo x > c.txt; git add c.txt; git commit -qm "by the agent"');
    expect(sh(fx.repo, 'rev-parse', 'loops/esc/r1')).toBe(before);
  });

  it("to the worktree's .git gitfile (a swapped gitfile could point loops' git elsewhere)", async () => {
    const gitfile = path.join(fx.worktree, '.git');
    const before = readFileSync(gitfile, 'utf8');
    await fx.run('echo "gitdir: /tmp/evil" > .git; rm -f .git; mv .git moved-gitfile');
    expect(readFileSync(gitfile, 'utf8')).toBe(before);
  });

  it("to the repository's state/ (loops' own index)", async () => {
    const index = path.join(fx.repo, 'state', 'loops.json');
    await fx.run(`echo '{"runs":"pwned"}' > ${index}; mkdir -p ${fx.repo}/state/esc/x`);
    expect(readFileSync(index, 'utf8')).toBe('{"runs":[]}\n');
  });

  it('to system folders, even as root after trying to remount them writable', async () => {
    const name = `loops-escape-${unique()}`;
    await fx.run(`mount -o remount,rw / 2>/dev/null; echo pwned > /etc/${name}; echo pwned > /usr/${name}`);
    expect(existsSync(`/etc/${name}`)).toBe(false);
    expect(existsSync(`/usr/${name}`)).toBe(false);
  });

  it('to the real HOME: ~ is a fresh folder of its own, by ~ and by its real path', async () => {
    const result = await fx.run(`echo pwned > ~/.bashrc; echo pwned > ${fx.home}/.profile; ls -A ~`);
    expect(existsSync(path.join(fx.home, '.bashrc'))).toBe(false);
    expect(existsSync(path.join(fx.home, '.profile'))).toBe(false);
    // What it wrote is there; the user's own files are not.
    const listed = result.output.replace(/\n\[exit code 0\]$/, '').split('\n');
    expect(listed).toEqual(expect.arrayContaining(['.bashrc', '.profile']));
    expect(listed).not.toContain('.ssh');
    expect(listed).not.toContain('.npmrc');
  });
});

describe('reads of what the agent must not see fail', () => {
  it("the repository's state/: earlier runs' holdout findings", async () => {
    const result = await fx.run(`cat ${fx.repo}/state/esc/runs/old.md; ls -R ${fx.repo}/state`);
    expect(result.output).not.toContain(STATE_MARK);
  });

  it("the state/ copy the worktree's base commit holds", async () => {
    expect(readFileSync(path.join(fx.worktree, 'state', 'esc', 'runs', 'old.md'), 'utf8')).toContain(
      STATE_MARK,
    );
    const result = await fx.run('cat state/esc/runs/old.md; grep -r FINDING state');
    expect(result.output).not.toContain(STATE_MARK);
  });

  it("a holdout grader's script, in the worktree and in the main checkout", async () => {
    const result = await fx.run(
      `cat holdout/check.sh; cat ${fx.repo}/holdout/check.sh; grep -r ANSWER holdout`,
    );
    expect(result.output).not.toContain(HOLDOUT_MARK);
  });

  it("a holdout grader's protected file named by itself", async () => {
    const result = await fx.run(`cat answers.txt; cat ${fx.repo}/answers.txt`);
    expect(result.output).not.toContain(HOLDOUT_MARK);
  });

  it("another run's worktree under .loops/", async () => {
    const listed = await fx.run(`ls ${fx.repo}/.loops/worktrees/esc`);
    expect(listed.output).toBe('r1\n[exit code 0]');
    const read = await fx.run(`cat ${fx.otherWorktree}/other-run.txt`);
    expect(read.output).not.toContain('another run');
  });

  it('~/.ssh and ~/.npmrc, by ~ and by the real path', async () => {
    const result = await fx.run(
      `cat ~/.ssh/id_ed25519 ~/.npmrc; cat ${fx.home}/.ssh/id_ed25519 ${fx.home}/.npmrc; ls -A ~`,
    );
    expect(result.output).not.toContain(SSH_MARK);
  });

  it('/proc/$PPID/environ and /proc/1/environ', async () => {
    const result = await fx.run('cat /proc/$PPID/environ /proc/1/environ | tr "\\0" "\\n"; echo PPID=$PPID');
    expect(result.output).toContain('PPID=');
    expect(result.output).not.toContain(SECRET);
  });

  it('a secret by value, under an innocent name or inside another value', async () => {
    const result = await fx.run('env; echo "[$INNOCENT_LOOKING][$DB_URL_COPY][$LOOPS_ESCAPE_API_KEY]"');
    expect(result.output).toContain('[][][]');
    expect(result.output).not.toContain(SECRET);
  });

  it('a host socket under /run or /tmp (a daemon, an ssh agent)', async () => {
    const sockets = [
      path.join('/run', `loops-escape-${unique()}.sock`),
      path.join(os.tmpdir(), `loops-escape-${unique()}.sock`),
    ];
    const servers: NetServer[] = [];
    let connections = 0;
    for (const socket of sockets) {
      const server = createNetServer(() => connections++);
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      servers.push(server);
    }
    try {
      const connect = sockets
        .map(
          (s) =>
            `node -e "require('net').connect('${s}').on('connect',()=>console.log('CONNECTED')).on('error',()=>console.log('refused'))"`,
        )
        .join('; ');
      const result = await fx.run(connect);
      expect(result.output).not.toContain('CONNECTED');
      expect(connections).toBe(0);
    } finally {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("loops' own process is out of reach", () => {
  let loops: ChildProcess;
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]?.startsWith('Z');
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    // A stand-in for loops: a host process with a key in its environment.
    loops = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { PATH: process.env.PATH ?? '', STAND_IN_API_KEY: SECRET },
      stdio: 'ignore',
    });
    await new Promise((resolve) => loops.once('spawn', resolve));
  });
  afterAll(() => {
    loops.kill('SIGKILL');
  });

  it("cannot read another process's environment by its host pid", async () => {
    expect(readFileSync(`/proc/${loops.pid}/environ`, 'utf8')).toContain(SECRET);
    const result = await fx.run(`cat /proc/${loops.pid}/environ; cat /proc/${process.pid}/environ`);
    expect(result.output).not.toContain(SECRET);
  });

  it('sees only its own processes', async () => {
    const result = await fx.run("ls /proc | grep -E '^[0-9]+$' | sort -n | tail -1");
    const highest = Number(result.output.trim().split('\n')[0]);
    expect(highest).toBeLessThan(100);
    expect(result.output).not.toContain(String(process.pid));
  });

  it('kill -TERM $PPID, kill by host pid and kill -9 -1 signal nothing of loops', async () => {
    let signalled = 0;
    const count = (): void => {
      signalled++;
    };
    process.on('SIGTERM', count);
    try {
      const result = await fx.run(
        `kill -TERM $PPID; kill -TERM ${process.pid}; kill -TERM ${loops.pid}; kill -TERM ${process.ppid}; kill -9 -1; echo after`,
      );
      expect(result.output).not.toContain('[canceled');
      expect(signalled).toBe(0);
      expect(alive(loops.pid ?? -1)).toBe(true);
    } finally {
      process.off('SIGTERM', count);
    }
  });

  /** Host processes running `sleep MARK` (bwrap's own command line also names the mark: not those). */
  const sleepers = (marks: readonly string[]): string[] =>
    readdirSync('/proc').filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return /^\d+$/.test(pid) && path.basename(argv[0] ?? '') === 'sleep' && marks.includes(argv[1] ?? '');
      } catch {
        return false;
      }
    });

  it('a command past its time limit is killed with everything it started, setsid children too', async () => {
    const marks = [`5${Math.floor(Math.random() * 1e6)}`, `6${Math.floor(Math.random() * 1e6)}`];
    const result = await fx.run(
      `setsid sh -c 'exec sleep ${marks[0]}' > /dev/null 2>&1 & exec sleep ${marks[1]}`,
      1,
    );
    expect(result.output).toContain('[timed out after 1s');
    // Unconfined, a setsid child lives on for days; confined, the namespace's end takes it at once.
    await vi.waitFor(() => expect(sleepers(marks)).toEqual([]), { timeout: 5_000, interval: 50 });
  });

  it('a setsid or nohup child does not outlive the command', async () => {
    const marks = [`3${Math.floor(Math.random() * 1e6)}`, `4${Math.floor(Math.random() * 1e6)}`];
    const result = await fx.run(
      `setsid sh -c 'exec sleep ${marks[0]}' > /dev/null 2>&1 & nohup sleep ${marks[1]} > /dev/null 2>&1 & ` +
        `sleep 0.2; ps -eo args | grep -c '^sleep [34]'`,
    );
    // Both were running inside while the command ran...
    expect(result.output).toMatch(/^2\n/);
    // ...and the PID namespace ends with its first process, taking them with it.
    await vi.waitFor(() => expect(sleepers(marks)).toEqual([]), { timeout: 5_000, interval: 50 });
  });
});

describe('the network is off unless the loop allows it', () => {
  let server: Server;
  let port = 0;
  let requests = 0;

  beforeAll(async () => {
    server = createHttpServer((_req, res) => {
      requests++;
      res.end('REACHED');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchCommand = (): string =>
    `node -e "fetch('http://127.0.0.1:${port}/').then(r => r.text()).then(t => console.log(t), e => { console.log('BLOCKED', e.cause?.code); process.exit(1); })"`;

  it('from the run tool: a server on 127.0.0.1 is not reached', async () => {
    requests = 0;
    const result = await fx.run(fetchCommand());
    expect(result.output).not.toContain('REACHED');
    expect(result.output).toContain('BLOCKED');
    expect(requests).toBe(0);
  });

  it('from curl or a raw socket to an outside address', async () => {
    const result = await fx.run(
      `node -e "require('net').connect(443, '1.1.1.1').on('connect', () => console.log('CONNECTED')).on('error', e => console.log('no route', e.code))"`,
    );
    expect(result.output).not.toContain('CONNECTED');
  });

  it('with sandbox: { network: true }, the same command reaches it', async () => {
    requests = 0;
    const open = await fx.open({ sandbox: { network: true }, verify: [{ command: 'true' }] });
    try {
      const { runShell } = await import('../../src/process/shell.js');
      const result = await runShell(fetchCommand(), {
        cwd: fx.worktree,
        timeoutMs: 30_000,
        outputCap: 10_000,
        sandbox: open,
      });
      expect(result.output).toContain('REACHED');
      expect(requests).toBe(1);
    } finally {
      await open.dispose();
    }
  });
});

describe('LOOP.md files in the checkout keep their contents', () => {
  it('after every attempt above', async () => {
    expect(await readFile(path.join(fx.repo, 'loops', 'esc', 'LOOP.md'), 'utf8')).toBe(
      '---\nname: esc\n---\nDo the work.\n',
    );
  });
});
