import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoopEvent, LoopEventBody } from '../../src/core/events.js';
import { readTrace, TraceClosedError, TraceCorruptError, TraceWriter } from '../../src/state/trace.js';
import { tempDirPerTest } from './temp-dir.js';

const tmp = tempDirPerTest();

function event(seq: number, body: LoopEventBody = { type: 'model.delta', text: `delta ${seq}` }): LoopEvent {
  return {
    loop: 'fix-tests',
    run: '20261124-071502-a3f9',
    iteration: 1,
    time: new Date(Date.UTC(2026, 10, 24, 7, 15, 2, seq)).toISOString(),
    seq,
    span: 'it-1',
    ...body,
  };
}

describe('TraceWriter', () => {
  it('writes 200 rapid appends as 200 lines in emit order', async () => {
    const file = path.join(tmp.path, 'traces', 'run.jsonl');
    const writer = await TraceWriter.open(file);
    // Not awaited one by one: all 200 are in flight at once, as when the engine emits a burst.
    await Promise.all(Array.from({ length: 200 }, (_, i) => writer.append(event(i + 1))));
    await writer.close();

    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toHaveLength(201);
    expect(lines.at(-1)).toBe('');
    const seqs = lines.slice(0, -1).map((line) => (JSON.parse(line) as LoopEvent).seq);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('has each line in the file when its append resolves', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    const writer = await TraceWriter.open(file);
    await writer.append(event(1));
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify(event(1))}\n`);
    await writer.append(event(2, { type: 'run.paused' }));
    expect((await readTrace(file)).map((e) => e.type)).toEqual(['model.delta', 'run.paused']);
    await writer.close();
  });

  it('keeps text with newlines and unicode on one line', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    const writer = await TraceWriter.open(file);
    const e = event(1, { type: 'model.delta', text: 'line one\nline two\u2028 — é 🚀' });
    await writer.append(e);
    await writer.close();
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(2);
    expect(await readTrace(file)).toEqual([e]);
  });

  it('appends to an existing trace instead of replacing it', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    const first = await TraceWriter.open(file);
    await first.append(event(1));
    await first.close();
    const second = await TraceWriter.open(file);
    await second.append(event(2));
    await second.close();
    expect((await readTrace(file)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('refuses appends after close', async () => {
    const writer = await TraceWriter.open(path.join(tmp.path, 'run.jsonl'));
    await writer.close();
    await writer.close();
    await expect(writer.append(event(1))).rejects.toBeInstanceOf(TraceClosedError);
  });

  it('rejects an event that cannot be serialised, and keeps writing the others', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    const writer = await TraceWriter.open(file);
    const bad = event(2, { type: 'tool.call', callId: 'c1', name: 'run', input: { n: 1n } });
    await writer.append(event(1));
    await expect(writer.append(bad)).rejects.toThrow(/cannot write tool.call event/);
    await writer.append(event(3));
    await writer.close();
    expect((await readTrace(file)).map((e) => e.seq)).toEqual([1, 3]);
  });

  it('trims a torn last line before appending, so the next event starts on its own line', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    await writeFile(file, `${JSON.stringify(event(1))}\n{"loop":"fix-tests","run":"r","seq":2,"ty`);
    const writer = await TraceWriter.open(file);
    await writer.append(event(3));
    await writer.close();
    expect((await readTrace(file)).map((e) => e.seq)).toEqual([1, 3]);
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify(event(1))}\n${JSON.stringify(event(3))}\n`);
  });

  it('keeps a whole last event that only lacks its newline', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    await writeFile(file, JSON.stringify(event(1)));
    const writer = await TraceWriter.open(file);
    await writer.append(event(2));
    await writer.close();
    expect((await readTrace(file)).map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('readTrace', () => {
  it('skips a torn final line (a crash mid-write)', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    const whole = [event(1), event(2)];
    const torn = JSON.stringify(event(3)).slice(0, 40);
    await writeFile(file, `${whole.map((e) => JSON.stringify(e)).join('\n')}\n${torn}`);
    expect(await readTrace(file)).toEqual(whole);
  });

  it('returns [] for a missing file', async () => {
    expect(await readTrace(path.join(tmp.path, 'none.jsonl'))).toEqual([]);
  });

  it('names the file and line of a damaged line that is not the last', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    await writeFile(file, `${JSON.stringify(event(1))}\nnot json\n`);
    await appendFile(file, `${JSON.stringify(event(3))}\n`);
    const reading = readTrace(file);
    await expect(reading).rejects.toBeInstanceOf(TraceCorruptError);
    await expect(reading).rejects.toThrow(`${file}:2: not a trace event`);
  });

  it('rejects JSON lines that are not events', async () => {
    const file = path.join(tmp.path, 'run.jsonl');
    await writeFile(file, `{"hello":"world"}\n`);
    await expect(readTrace(file)).rejects.toThrow(/:1: not a trace event \(missing type, loop, run or seq\)/);
  });
});
