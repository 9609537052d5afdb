/**
 * The default approval policy from MCP hints, against real servers: the reference "everything" server
 * (every tool annotated, none destructive) and our own fixture (read-only, unannotated, destructive and
 * non-destructive writing tools), through the run's approval gate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApprovalGate } from '../../src/core/approval/gate.js';
import { toolsThatAsk, type HintPolicy } from '../../src/core/approval/hints.js';
import type { LoopEvent } from '../../src/core/events.js';
import { RunControl } from '../../src/core/run/control.js';
import { createEmitter } from '../../src/core/run/emitter.js';
import { Connectors, type ConnectorOptions } from '../../src/tools/mcp/connectors.js';

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);
const FILESYSTEM = join(
  dirname(require.resolve('@modelcontextprotocol/server-filesystem/package.json')),
  'dist/index.js',
);
const MINE = fileURLToPath(new URL('../tools/fixtures/mcp-crashy.mjs', import.meta.url));

let open: Connectors | undefined;

afterEach(async () => {
  await open?.close();
  open = undefined;
});

const options: ConnectorOptions = {
  worktree: tmpdir(),
  baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  sourceEnv: {},
  prepare: (spawn) => spawn,
  onLog: () => undefined,
  startTimeoutMs: 20_000,
};

async function asking(policy: HintPolicy, server: 'mine' | 'every'): Promise<string[]> {
  const args = server === 'mine' ? [MINE] : [EVERYTHING, 'stdio'];
  open = await Connectors.open([{ name: server, command: 'node', args, env: [], approve: policy }], options);
  return toolsThatAsk(open.tools, () => policy).map((t) => t.tool);
}

describe('which connector tools ask a person', () => {
  it('by default: those that may be destructive, the unannotated ones included (the specification default)', async () => {
    expect((await asking('hinted', 'mine')).sort()).toEqual(['crash', 'wipe']);
  });

  it('of the reference filesystem server: the ones that overwrite, edit or move files', async () => {
    open = await Connectors.open(
      [{ name: 'fs', command: 'node', args: [FILESYSTEM, tmpdir()], env: [] }],
      options,
    );
    const asks = toolsThatAsk(open.tools, () => 'hinted').map((t) => t.tool);
    expect(asks.sort()).toEqual(['edit_file', 'move_file', 'write_file']);
    expect(open.tools.map((t) => t.mcp?.tool)).toContain('create_directory');
  });

  it('none of the everything server: all its tools are read-only or say they are not destructive', async () => {
    expect(await asking('hinted', 'every')).toEqual([]);
    // Its writing tools are there all the same (not read-only, destructiveHint false).
    expect(open?.tools.find((t) => t.mcp?.tool === 'toggle-simulated-logging')?.mcp).toMatchObject({
      readOnly: false,
      destructive: false,
    });
  });

  it('with approve: always, every tool, read-only ones too; with never, none', async () => {
    const all = await asking('always', 'every');
    expect(all).toContain('echo');
    expect(all).toHaveLength(open?.tools.length ?? -1);
    await open?.close();
    expect(await asking('never', 'mine')).toEqual([]);
  });
});

describe('the gate, with hinted tools', () => {
  async function gateFor(policy: HintPolicy, attended: boolean, approve: string[] = []) {
    open = await Connectors.open([{ name: 'mine', command: 'node', args: [MINE], env: [] }], options);
    const gate = new ApprovalGate('demo', 'r1', approve, { attended, timeoutMs: null });
    gate.addHinted(toolsThatAsk(open.tools, () => policy));
    const events: LoopEvent[] = [];
    const emitter = createEmitter('demo', 'r1', (e) => events.push(e));
    const control = new RunControl();
    const check = (tool: string) =>
      gate.check({ id: `c-${tool}`, name: `mcp__mine__${tool}`, input: {} }, emitter, control);
    return { gate, events, check };
  }

  it('denies a destructive tool at once with nobody to ask, saying why; a read-only one runs', async () => {
    const { events, check } = await gateFor('hinted', false);
    const wipe = await check('wipe');
    expect(wipe.kind).toBe('deny');
    expect(wipe.kind === 'deny' && wipe.reason).toContain(
      "mcp:mine/wipe may be destructive, by its server's hints",
    );
    expect(await check('ok')).toEqual({ kind: 'allow' });
    expect(await check('note')).toEqual({ kind: 'allow' });
    const requested = events.filter((e) => e.type === 'approval.requested');
    expect(requested.map((e) => e.type === 'approval.requested' && [e.tool, e.matched])).toEqual([
      ['mcp__mine__wipe', 'mine/wipe'],
    ]);
  });

  it('asks a person when one can answer, and runs the tool once approved', async () => {
    const { gate, events, check } = await gateFor('hinted', true);
    const pending = check('wipe');
    // The request is out before the answer: answer it by its id.
    const asked = events.find((e) => e.type === 'approval.requested');
    expect(asked?.type).toBe('approval.requested');
    const id = asked?.type === 'approval.requested' ? asked.approvalId : '';
    expect(gate.answer(id, true, 'fine')).toBe(true);
    expect(await pending).toEqual({ kind: 'allow' });
  });

  it('with approve: never, a destructive tool runs without asking; an approve: rule still asks', async () => {
    const { events, check } = await gateFor('never', false, ['mcp:mine/crash']);
    expect(await check('wipe')).toEqual({ kind: 'allow' });
    expect((await check('crash')).kind).toBe('deny');
    const requested = events.filter((e) => e.type === 'approval.requested');
    expect(requested.map((e) => e.type === 'approval.requested' && e.rule)).toEqual(['mcp:mine/crash']);
  });
});
