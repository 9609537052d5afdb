import { describe, expect, it } from 'vitest';
import {
  encode,
  LineReader,
  parseClientMessage,
  parseOwnerMessage,
  PROTOCOL_VERSION,
} from '../../src/daemon/protocol.js';
import { fallbackSocketDir, MAX_SOCKET_PATH_BYTES, socketLocation } from '../../src/daemon/socket-path.js';

describe('the wire protocol', () => {
  it('round-trips every client message through encode and parse', () => {
    const messages = [
      { kind: 'hello', protocol: PROTOCOL_VERSION, client: 'screen' },
      { kind: 'snapshot', ref: 'r1' },
      { kind: 'subscribe', ref: 'r2', history: true },
      { kind: 'command', ref: 'r3', command: { type: 'start', loop: 'fix-tests', trigger: 'manual' } },
      {
        kind: 'command',
        ref: 'r4',
        command: { type: 'deny', loop: 'a', run: 'x', approvalId: 'x-a1', reason: 'no' },
      },
      {
        kind: 'command',
        ref: 'r5',
        command: { type: 'instruct', loop: 'a', text: 'look at src/', now: true },
      },
    ] as const;
    for (const message of messages) {
      const line = encode(message);
      expect(line.endsWith('\n')).toBe(true);
      expect(parseClientMessage(line.trimEnd())).toEqual(message);
    }
  });

  it('names what is wrong with a malformed message, keeping its ref for the reply', () => {
    expect(parseClientMessage('{not json')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('not JSON') as string,
    });
    expect(parseClientMessage('[]')).toMatchObject({ kind: 'invalid' });
    expect(parseClientMessage('{"kind":"launch","ref":"r9"}')).toMatchObject({ kind: 'invalid', ref: 'r9' });
    // A field the engine's command does not have (a trigger context from outside) is refused, not ignored.
    const spoofed = parseClientMessage(
      JSON.stringify({
        kind: 'command',
        ref: 'r1',
        command: { type: 'start', loop: 'a', context: { kind: 'webhook' } },
      }),
    );
    expect(spoofed).toMatchObject({
      kind: 'invalid',
      ref: 'r1',
      message: expect.stringContaining('command') as string,
    });
    const noLoop = parseClientMessage(
      JSON.stringify({ kind: 'command', ref: 'r2', command: { type: 'stop' } }),
    );
    expect(noLoop).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('command.loop') as string,
    });
    expect(parseClientMessage(JSON.stringify({ kind: 'hello', protocol: 'one', client: 'x' }))).toMatchObject(
      {
        kind: 'invalid',
        message: expect.stringContaining('protocol') as string,
      },
    );
  });

  it('checks the envelope of what the owner sends', () => {
    expect(parseOwnerMessage('{"kind":"bye","reason":"done"}')).toEqual({ kind: 'bye', reason: 'done' });
    expect(parseOwnerMessage('{"kind":"event","event":{"type":"x"}}')).toMatchObject({ kind: 'invalid' });
    expect(parseOwnerMessage('nope')).toMatchObject({ kind: 'invalid' });
  });
});

describe('LineReader', () => {
  it('joins lines split across chunks and keeps what follows the last newline', () => {
    const reader = new LineReader(100);
    expect(reader.push(Buffer.from('{"a":'))).toEqual({ lines: [], tooLong: false });
    expect(reader.push(Buffer.from('1}\n{"b"'))).toEqual({ lines: ['{"a":1}'], tooLong: false });
    expect(reader.push(Buffer.from(':2}\n\n'))).toEqual({ lines: ['{"b":2}', ''], tooLong: false });
  });

  it('refuses a line over the limit, with or without its newline', () => {
    expect(new LineReader(10).push(Buffer.from('x'.repeat(11))).tooLong).toBe(true);
    expect(new LineReader(10).push(Buffer.from(`${'x'.repeat(11)}\n`)).tooLong).toBe(true);
    const reader = new LineReader(10);
    expect(reader.push(Buffer.from('x'.repeat(6))).tooLong).toBe(false);
    expect(reader.push(Buffer.from('x'.repeat(6))).tooLong).toBe(true);
  });

  it('keeps multi-byte characters split between chunks whole', () => {
    const bytes = Buffer.from('"é"\n');
    const reader = new LineReader(100);
    reader.push(bytes.subarray(0, 2));
    expect(reader.push(bytes.subarray(2)).lines).toEqual(['"é"']);
  });
});

describe('where the socket goes', () => {
  it('is state/loops.sock when the path is short enough, else a hashed folder in the runtime folder', () => {
    expect(socketLocation('/r/state', {})).toEqual({ path: '/r/state/loops.sock' });
    const long = `/${'d'.repeat(120)}/state`;
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    const located = socketLocation(long, env);
    expect(located.fallbackDir).toBe(fallbackSocketDir(long, env));
    expect(located.path.startsWith('/run/user/1000/loops-')).toBe(true);
    expect(Buffer.byteLength(located.path)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    // Another state folder gets another folder; a relative runtime folder is not trusted.
    expect(fallbackSocketDir(`${long}2`, env)).not.toBe(located.fallbackDir);
    expect(socketLocation(long, { XDG_RUNTIME_DIR: 'run' }).path.startsWith('/tmp/loops-')).toBe(true);
  });
});
