/**
 * The screen's first frame against an Ink hello-world (issue 12: goal ≤ 1.3×). Each is a fresh Node
 * process on the built code (dist/), timed from the process's start to its first frame written to a
 * terminal-like stream: the hello-world renders one <Text>; the screen is runTui (loaded as `loops`
 * loads it, start-tui.js) over the opening port, as `loops` draws it before the engine has opened.
 * Median of 5, the two alternated so a drifting machine load hits both alike. cli.tsx's argument
 * parsing before it is the start-up benchmark's.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GOAL = 1.3;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const terminal = (expect: string): string => `
  const { EventEmitter } = await import('node:events');
  let done = false;
  class T extends EventEmitter { columns = 120; rows = 40; isTTY = true;
    write = (chunk) => { if (!done && String(chunk).includes('${expect}')) { done = true;
      process.stdout.write('first-frame-ms:' + performance.now() + ';'); process.exit(0); } return true; }; }
  const stdout = new T();`;

const HELLO = `${terminal('hello')}
  const { render, Text } = await import('ink');
  const { createElement } = await import('react');
  render(createElement(Text, null, 'hello'), { stdout, patchConsole: false, exitOnCtrlC: false });`;

const SCREEN = `${terminal('opening')}
  const { runTui } = await import('${ROOT}dist/ui/start-tui.js');
  const { OpeningPort } = await import('${ROOT}dist/ui/opening-port.js');
  void runTui(new OpeningPort(), { stdout, patchConsole: false });`;

function timeOnce(source: string): number {
  // A plain Node, as `loops` runs: no loader options or NODE_ENV from the bench's own runner.
  const { NODE_OPTIONS: _loader, NODE_ENV: _mode, ...env } = process.env;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    cwd: ROOT,
    env: { ...env, CI: 'false' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = /first-frame-ms:([\d.]+);/.exec(child.stdout)?.[1];
  if (ms === undefined) throw new Error(`first-frame bench: no frame (${child.stderr.slice(0, 300)})`);
  return Number(ms);
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export interface FirstFrameResult {
  helloMs: number;
  screenMs: number;
  ratio: number;
  met: boolean;
}

export function runFirstFrameBench(samples = 5): FirstFrameResult {
  const hello: number[] = [];
  const screen: number[] = [];
  for (let i = 0; i < samples; i++) {
    hello.push(timeOnce(HELLO));
    screen.push(timeOnce(SCREEN));
  }
  const helloMs = median(hello);
  const screenMs = median(screen);
  const ratio = screenMs / helloMs;
  return { helloMs, screenMs, ratio, met: ratio <= GOAL };
}

export function formatFirstFrameBench(r: FirstFrameResult): string {
  return [
    'first frame: the screen before the engine opens, against an Ink hello-world (fresh processes, dist/)',
    `  hello-world   ${r.helloMs.toFixed(0)} ms (median of 5)`,
    `  loops screen  ${r.screenMs.toFixed(0)} ms = ${r.ratio.toFixed(2)}×   goal ≤ ${GOAL}×  ${r.met ? 'ok' : 'MISSED'}`,
  ].join('\n');
}
