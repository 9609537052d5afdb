/**
 * The loop's MCP connectors for one run, through the official MCP TypeScript client: each server is
 * started (stdio, inside the sandbox) or reached (streamable HTTP), its tools are offered to the model
 * as `mcp__SERVER__TOOL`, and each call is carried out like a built-in tool's. A server that cannot
 * start is an error naming it; one that dies later turns its tools' calls into errors naming it.
 * A stdio server's stderr goes to the trace (through `onLog`), never onto the screen.
 */
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Readable } from 'node:stream';
import type { Tool, ToolContext, ToolResult } from '../types.js';
import { mcpToolName } from './names.js';
import { expandHeaders } from './headers.js';
import { Redactor } from '../../models/cli-env.js';

export interface McpServerConfig {
  name: string;
  /** stdio: the command and its arguments, run in the worktree. */
  command?: string;
  args: string[];
  /** streamable HTTP: the server's URL. */
  url?: string;
  /** Names of variables passed from loops' own environment (a server's token, say); never values. */
  env: string[];
  /** streamable HTTP: headers sent with every request, `${NAME}` naming a variable of `env` (headers.ts). */
  headers?: Record<string, string> | undefined;
  /** Which tools ask a person (core/approval/hints.ts); hinted when absent. */
  approve?: 'hinted' | 'always' | 'never';
}

/** A command ready to start, after the sandbox has wrapped it. */
export interface Spawn {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface ConnectorOptions {
  worktree: string;
  /** The scrubbed environment every confined process starts from. */
  baseEnv: Record<string, string>;
  /** loops' own environment, where the named variables come from. */
  sourceEnv: NodeJS.ProcessEnv;
  /** Wraps a stdio server's command in the sandbox; identity when there is none. */
  prepare: (spawn: Spawn) => Spawn;
  onLog: (server: string, text: string) => void;
  /** A server that had started went away before the run closed it: said at once, not at its next call. */
  onExit?: (server: string, message: string) => void;
  /** Milliseconds a server has to start and list its tools. */
  startTimeoutMs?: number;
}

export class McpError extends Error {
  override name = 'McpError';
}

interface Connection {
  config: McpServerConfig;
  client: Client;
  exited?: string;
  stderrTail: string;
  /** Cuts loops' secrets and the server's own variables out of what it says, before the trace has it. */
  redactor: Redactor;
  /** Its tools were listed: from then on, its going away is news (before, the start fails instead). */
  started: boolean;
  /** loops is closing it: its going away is expected. */
  closing: boolean;
  /** Settles once its stderr has been read to the end (at once for an HTTP server). */
  stderrDone: Promise<void>;
}

const STDERR_TAIL = 2_000;

export class Connectors {
  private constructor(
    private readonly connections: Connection[],
    readonly tools: Tool[],
  ) {}

  static async open(servers: readonly McpServerConfig[], options: ConnectorOptions): Promise<Connectors> {
    const connections: Connection[] = [];
    const tools: Tool[] = [];
    try {
      for (const config of servers) {
        const connection = await connect(config, options);
        connections.push(connection);
        tools.push(...(await listTools(connection, options.startTimeoutMs ?? 30_000)));
        connection.started = true;
      }
    } catch (err) {
      await closeAll(connections);
      throw err;
    }
    return new Connectors(connections, tools);
  }

  /** Which servers were started and what each offers, for the trace. */
  summary(): Array<{ server: string; transport: 'stdio' | 'http'; tools: string[] }> {
    return this.connections.map((c) => ({
      server: c.config.name,
      transport: c.config.url ? 'http' : 'stdio',
      tools: this.tools.filter((t) => t.mcp?.server === c.config.name).map((t) => t.spec.name),
    }));
  }

  async close(): Promise<void> {
    await closeAll(this.connections);
  }
}

async function closeAll(connections: readonly Connection[]): Promise<void> {
  for (const c of connections) c.closing = true;
  await Promise.allSettled(connections.map((c) => c.client.close()));
}

async function connect(config: McpServerConfig, o: ConnectorOptions): Promise<Connection> {
  const env = { ...o.baseEnv };
  const named: Record<string, string> = {};
  for (const name of config.env) {
    const value = o.sourceEnv[name];
    if (value === undefined)
      throw new McpError(`MCP server "${config.name}" needs ${name}, which is not set in loops' environment`);
    named[name] = value;
  }
  const client = new Client({ name: 'loops', version: '1' });
  const connection: Connection = {
    config,
    client,
    stderrTail: '',
    redactor: new Redactor(o.sourceEnv, config.env),
    started: false,
    closing: false,
    stderrDone: Promise.resolve(),
  };
  let transport;
  if (config.url) {
    // An HTTP server gets loops' variables only through its headers, never an environment.
    const headers = expandHeaders(config.headers ?? {}, named);
    transport = new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers } });
  } else if (config.command) {
    const spawn = o.prepare({
      file: config.command,
      args: [...config.args],
      cwd: o.worktree,
      env: { ...env, ...named },
    });
    const stdio = new StdioClientTransport({
      command: spawn.file,
      args: spawn.args,
      cwd: spawn.cwd,
      env: spawn.env,
      stderr: 'pipe',
    });
    const stderr = stdio.stderr as Readable | null;
    stderr?.setEncoding('utf8');
    // Whole lines to the log, so a secret split across two chunks is still recognised and cut out.
    let partial = '';
    const log = (text: string) => {
      if (text) o.onLog(config.name, connection.redactor.text(text));
    };
    stderr?.on('data', (chunk: string) => {
      connection.stderrTail = (connection.stderrTail + chunk).slice(-STDERR_TAIL);
      partial += chunk;
      const end = partial.lastIndexOf('\n');
      if (end >= 0 || partial.length > STDERR_TAIL) {
        const upTo = end >= 0 ? end + 1 : partial.length;
        log(partial.slice(0, upTo));
        partial = partial.slice(upTo);
      }
    });
    connection.stderrDone = new Promise<void>((resolve) => {
      stderr?.on('end', () => {
        log(partial);
        partial = '';
        resolve();
      });
      stderr?.on('close', resolve);
      if (!stderr) resolve();
    });
    transport = stdio;
  } else {
    throw new McpError(`MCP server "${config.name}" has neither a command nor a url`);
  }
  transport.onclose = () => {
    connection.exited ??= 'the server closed the connection';
    if (connection.closing || !connection.started) return;
    // The process has exited; what it said last is read to the end before the news names it.
    void connection.stderrDone.then(() => {
      if (connection.closing) return;
      o.onExit?.(
        config.name,
        `MCP server "${config.name}" stopped during the run (${connection.exited}); its tools fail from ` +
          `now on${tail(connection)}`,
      );
    });
  };
  try {
    await withTimeout(
      client.connect(transport),
      o.startTimeoutMs ?? 30_000,
      `MCP server "${config.name}" did not start`,
    );
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new McpError(`MCP server "${config.name}" could not start: ${message(err)}${tail(connection)}`, {
      cause: err,
    });
  }
  return connection;
}

async function listTools(connection: Connection, timeoutMs: number): Promise<Tool[]> {
  const { name: server } = connection.config;
  let listed;
  try {
    listed = await withTimeout(
      connection.client.listTools(),
      timeoutMs,
      `MCP server "${server}" did not list its tools`,
    );
  } catch (err) {
    throw new McpError(
      `MCP server "${server}" could not list its tools: ${message(err)}${tail(connection)}`,
      { cause: err },
    );
  }
  return listed.tools.map((t): Tool => {
    const readOnly = t.annotations?.readOnlyHint === true;
    return {
      spec: {
        name: mcpToolName(server, t.name),
        description: `[MCP server ${server}] ${t.description ?? t.name}`,
        inputSchema: t.inputSchema,
      },
      mcp: {
        server,
        tool: t.name,
        readOnly,
        // The specification's default for a tool that is not read-only is "may be destructive".
        destructive: !readOnly && t.annotations?.destructiveHint !== false,
      },
      execute: (input, ctx) => callTool(connection, t.name, input, ctx),
    };
  });
}

async function callTool(
  connection: Connection,
  tool: string,
  input: unknown,
  ctx: ToolContext,
): Promise<ToolResult> {
  const result = await callToolRaw(connection, tool, input, ctx);
  // A server given a token may echo it (an error quoting its config, say): neither model nor trace gets it.
  return { ...result, output: connection.redactor.text(result.output) };
}

async function callToolRaw(
  connection: Connection,
  tool: string,
  input: unknown,
  ctx: ToolContext,
): Promise<ToolResult> {
  const server = connection.config.name;
  if (connection.exited)
    return {
      ok: false,
      output: `MCP server "${server}" is not running: ${connection.exited}${tail(connection)}`,
    };
  const args =
    input !== null && typeof input === 'object' && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : {};
  try {
    const result = await connection.client.callTool(
      { name: tool, arguments: args },
      { ...(ctx.signal ? { signal: ctx.signal } : {}), timeout: ctx.runTimeoutMs },
    );
    const text = contentText(result.content);
    return {
      ok: result.isError !== true,
      // Redacted before the cap, so a cut never leaves half a secret.
      output: cap(
        connection.redactor.text(text || (result.isError ? 'the tool failed' : '(no output)')),
        ctx.outputCap,
      ),
    };
  } catch (err) {
    const gone = connection.exited ? ` (${connection.exited})` : '';
    return {
      ok: false,
      output: `MCP server "${server}" call ${tool} failed: ${message(err)}${gone}${tail(connection)}`,
    };
  }
}

function contentText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => {
      if (part === null || typeof part !== 'object') return '';
      const p = part as { type?: unknown; text?: unknown; resource?: { uri?: unknown; text?: unknown } };
      if (p.type === 'text' && typeof p.text === 'string') return p.text;
      if (p.type === 'resource' && p.resource && typeof p.resource.text === 'string') return p.resource.text;
      return `[${typeof p.type === 'string' ? p.type : 'content'} omitted]`;
    })
    .join('\n');
}

function cap(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const half = Math.floor(limit / 2);
  return `${text.slice(0, half)}\n[… ${text.length - limit} characters cut …]\n${text.slice(-half)}`;
}

function tail(connection: Connection): string {
  const t = connection.redactor.text(connection.stderrTail).trim();
  return t ? `\nits stderr ended with:\n${t.slice(-500)}` : '';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new McpError(`${what} within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
