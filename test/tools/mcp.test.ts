/**
 * MCP connectors against real servers: the reference filesystem and "everything" servers from the
 * registry (stdio and streamable HTTP), and a small one of our own for crashes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { Connectors, McpError, type ConnectorOptions } from '../../src/tools/mcp/connectors.js';
import { mcpToolName } from '../../src/tools/mcp/names.js';
import type { Tool, ToolContext } from '../../src/tools/types.js';

const require = createRequire(import.meta.url);
const FILESYSTEM = join(
  dirname(require.resolve('@modelcontextprotocol/server-filesystem/package.json')),
  'dist/index.js',
);
const EVERYTHING = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);
const CRASHY = fileURLToPath(new URL('./fixtures/mcp-crashy.mjs', import.meta.url));

let dir: string;
let open: Connectors | undefined;
let logs: Array<[string, string]>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loops-mcp-'));
  logs = [];
});

afterEach(async () => {
  await open?.close();
  open = undefined;
  await rm(dir, { recursive: true, force: true });
});

function options(extra: Partial<ConnectorOptions> = {}): ConnectorOptions {
  return {
    worktree: dir,
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    sourceEnv: { SERVICE_TOKEN: 'tok-12345678', ANTHROPIC_API_KEY: 'sk-ant-secret' },
    prepare: (spawn) => spawn,
    onLog: (server, text) => logs.push([server, text]),
    startTimeoutMs: 20_000,
    ...extra,
  };
}

const ctx = (): ToolContext => ({
  worktree: dir,
  runTimeoutMs: 20_000,
  outputCap: 16_000,
  protectedPaths: [],
});

function tool(tools: Tool[], name: string): Tool {
  const found = tools.find((t) => t.spec.name === name);
  if (!found) throw new Error(`no ${name} among ${tools.map((t) => t.spec.name).join(', ')}`);
  return found;
}

describe('the reference filesystem server (stdio)', () => {
  it('offers its tools as mcp__SERVER__TOOL with their hints, and carries out calls and tool errors', async () => {
    await writeFile(join(dir, 'a.txt'), 'hello from a file\n');
    open = await Connectors.open(
      [{ name: 'fs', command: 'node', args: [FILESYSTEM, dir], env: [] }],
      options(),
    );
    const read = tool(open.tools, 'mcp__fs__read_text_file');
    expect(read.mcp).toEqual({ server: 'fs', tool: 'read_text_file', readOnly: true, destructive: false });
    expect(read.spec.description).toContain('[MCP server fs]');
    expect(read.spec.inputSchema).toMatchObject({ type: 'object' });
    expect(tool(open.tools, 'mcp__fs__write_file').mcp?.destructive).toBe(true);

    const ok = await read.execute({ path: join(dir, 'a.txt') }, ctx());
    expect(ok).toEqual({ ok: true, output: 'hello from a file\n' });
    const bad = await read.execute({}, ctx());
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/path/);
    const outside = await read.execute({ path: '/etc/hostname' }, ctx());
    expect(outside.ok).toBe(false);
    // Its stderr went to the log (for the trace), not to this process's stderr.
    expect(logs.some(([server, text]) => server === 'fs' && /Filesystem Server/.test(text))).toBe(true);
    expect(open.summary()).toEqual([
      { server: 'fs', transport: 'stdio', tools: open.tools.map((t) => t.spec.name) },
    ]);
  });
});

describe('the reference "everything" server', () => {
  it('over stdio: passes a named variable from loops and nothing secret; its value never comes back', async () => {
    open = await Connectors.open(
      [{ name: 'every', command: 'node', args: [EVERYTHING, 'stdio'], env: ['SERVICE_TOKEN'] }],
      options(),
    );
    const echo = await tool(open.tools, 'mcp__every__echo').execute({ message: 'hi' }, ctx());
    expect(echo).toEqual({ ok: true, output: 'Echo: hi' });
    const env = await tool(open.tools, 'mcp__every__get-env').execute({}, ctx());
    // The server has it (the name is there), but its value is cut out of the result the trace records.
    expect(env.output).toMatch(/"SERVICE_TOKEN":\s*"\[redacted\]"/);
    expect(env.output).not.toContain('tok-12345678');
    expect(env.output).not.toContain('sk-ant-secret');
  });

  it('a variable a server needs but loops lacks is an error naming both', async () => {
    await expect(
      Connectors.open(
        [{ name: 'every', command: 'node', args: [EVERYTHING, 'stdio'], env: ['MISSING_TOKEN'] }],
        options(),
      ),
    ).rejects.toThrow(/MCP server "every" needs MISSING_TOKEN/);
  });

  describe('over streamable HTTP', () => {
    let server: ResultPromise | undefined;
    afterEach(() => {
      server?.kill();
      server = undefined;
    });

    it('lists and calls tools at a URL', async () => {
      const port = String(20_000 + Math.floor(Math.random() * 20_000));
      server = execa('node', [EVERYTHING, 'streamableHttp'], {
        env: { PORT: port },
        reject: false,
        stdin: 'ignore',
      });
      const url = `http://127.0.0.1:${port}/mcp`;
      // Wait for it to listen (poll the port, no fixed sleep).
      for (let i = 0; i < 200; i++) {
        const up = await fetch(url, { method: 'GET' }).then(
          () => true,
          () => false,
        );
        if (up) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      open = await Connectors.open([{ name: 'web', url, args: [], env: [] }], options());
      expect(open.summary()[0]?.transport).toBe('http');
      const sum = await tool(open.tools, 'mcp__web__get-sum').execute({ a: 2, b: 3 }, ctx());
      expect(sum.ok).toBe(true);
      expect(sum.output).toContain('5');
    });
  });
});

describe('servers that fail', () => {
  it('one that cannot start is an error naming it', async () => {
    const err = await Connectors.open(
      [{ name: 'ghost', command: 'no-such-command-for-loops', args: [], env: [] }],
      options(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect(String(err)).toContain('MCP server "ghost" could not start');
  });

  it('one that exits at once is an error naming it, with its stderr', async () => {
    const err = await Connectors.open(
      [
        {
          name: 'quitter',
          command: 'node',
          args: ['-e', 'console.error("no config found"); process.exit(1)'],
          env: [],
        },
      ],
      options({ startTimeoutMs: 10_000 }),
    ).catch((e: unknown) => e);
    expect(String(err)).toContain('MCP server "quitter"');
    expect(String(err)).toContain('no config found');
  });

  it('one that dies mid-call turns that call and later ones into errors naming it, and says so at once', async () => {
    const exits: Array<[string, string]> = [];
    open = await Connectors.open(
      [{ name: 'crashy', command: 'node', args: [CRASHY], env: [] }],
      options({ onExit: (server, message) => exits.push([server, message]) }),
    );
    expect((await tool(open.tools, 'mcp__crashy__ok').execute({}, ctx())).output).toBe('ok');
    const died = await tool(open.tools, 'mcp__crashy__crash').execute({}, ctx());
    expect(died.ok).toBe(false);
    expect(died.output).toContain('MCP server "crashy"');
    const after = await tool(open.tools, 'mcp__crashy__ok').execute({}, ctx());
    expect(after.ok).toBe(false);
    expect(after.output).toContain('MCP server "crashy" is not running');
    expect(after.output).toContain('going down');
    for (let i = 0; i < 200 && exits.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(exits).toHaveLength(1);
    expect(exits[0]?.[0]).toBe('crashy');
    expect(exits[0]?.[1]).toMatch(
      /^MCP server "crashy" stopped during the run .*its tools fail from now on/s,
    );
    expect(exits[0]?.[1]).toContain('crashy: going down');
  });

  it("cuts a server's own variables out of its stderr and out of the errors that quote it", async () => {
    open = await Connectors.open(
      [{ name: 'crashy', command: 'node', args: [CRASHY], env: ['SERVICE_TOKEN'] }],
      options(),
    );
    for (let i = 0; i < 200 && !logs.some(([, text]) => text.includes('using token')); i++)
      await new Promise((r) => setTimeout(r, 20));
    const logged = logs.map(([, text]) => text).join('');
    expect(logged).toContain('crashy: using token [redacted]');
    expect(logged).not.toContain('tok-12345678');
    const died = await tool(open.tools, 'mcp__crashy__crash').execute({}, ctx());
    const after = await tool(open.tools, 'mcp__crashy__ok').execute({}, ctx());
    expect(after.output).toContain('using token [redacted]');
    expect(died.output + after.output).not.toContain('tok-12345678');
  });

  it('names the server that failed when an earlier one had started', async () => {
    const err = await Connectors.open(
      [
        { name: 'crashy', command: 'node', args: [CRASHY], env: [] },
        { name: 'ghost', command: 'no-such-command-for-loops', args: [], env: [] },
      ],
      options(),
    ).catch((e: unknown) => e);
    expect(String(err)).toContain('ghost');
  });
});

describe('tool names', () => {
  it('are mcp__SERVER__TOOL, and an over-long or odd name is shortened without colliding', () => {
    expect(mcpToolName('fs', 'read_file')).toBe('mcp__fs__read_file');
    const a = mcpToolName('server', `x${'y'.repeat(80)}a`);
    const b = mcpToolName('server', `x${'y'.repeat(80)}b`);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(mcpToolName('s', 'weird.name/with space')).toMatch(/^[a-zA-Z0-9_-]+$/);
  });
});
