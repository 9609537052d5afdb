import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor } from '../../src/core/supervisor.js';
import { readTrace } from '../../src/state/trace.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { runCli } from '../cli/cli-process.js';
import { attr, startReceiver, type OtlpRequest, type OtlpSpan, type Receiver } from './otlp-receiver.js';

let repo: TestRepo;
let receiver: Receiver;
let scratch: string;

beforeEach(async () => {
  repo = await makeRepo();
  receiver = await startReceiver();
  scratch = await mkdtemp(join(tmpdir(), 'loops-otlp-'));
});

afterEach(async () => {
  await receiver.close();
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const NANOS = /^\d{19}$/;

async function runExported(loop: string, env: Record<string, string> = {}) {
  const supervisor = await Supervisor.open(repo.dir, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-team=loops%20ci',
      ...env,
    },
    maxRetries: 0,
  });
  try {
    return await supervisor.start(loop);
  } finally {
    await supervisor.shutdown();
  }
}

function byName(spans: OtlpSpan[], prefix: string): OtlpSpan[] {
  return spans.filter((s) => s.name.startsWith(prefix));
}

describe('OpenTelemetry export of a run', () => {
  it('sends the run live as GenAI spans over OTLP/HTTP JSON, attribute by attribute', async () => {
    const result = await runExported('fix-tests');
    expect(result.outcome).toBe('verified');
    expect(receiver.requests.length).toBeGreaterThan(0);
    const request = receiver.requests[0]!;
    expect(request.path).toBe('/v1/traces');
    expect(request.contentType).toContain('application/json');
    expect(request.headers['x-team']).toBe('loops ci');
    const resource = request.body.resourceSpans[0]!.resource.attributes;
    expect(attr(resource, 'service.name')).toBe('loops');
    expect(request.body.resourceSpans[0]!.scopeSpans[0]!.scope.name).toBe('loops');

    const spans = receiver.spans();
    const traceIds = new Set(spans.map((s) => s.traceId));
    expect(traceIds.size).toBe(1);
    expect([...traceIds][0]).toMatch(HEX32);
    for (const s of spans) {
      expect(s.spanId).toMatch(HEX16);
      expect(s.startTimeUnixNano).toMatch(NANOS);
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    }
    const ids = new Set(spans.map((s) => s.spanId));
    // Every parent is a span of the same export, except the run's own span, which is the root.
    const [agent] = byName(spans, 'invoke_agent ');
    expect(agent?.name).toBe('invoke_agent fix-tests');
    expect(agent?.parentSpanId ?? '').toBe('');
    for (const s of spans.filter((x) => x !== agent)) expect(ids.has(s.parentSpanId ?? '')).toBe(true);
    expect(attr(agent!.attributes, 'gen_ai.operation.name')).toBe('invoke_agent');
    expect(attr(agent!.attributes, 'gen_ai.agent.name')).toBe('fix-tests');
    expect(attr(agent!.attributes, 'gen_ai.conversation.id')).toBe(result.run);
    expect(attr(agent!.attributes, 'loops.outcome')).toBe('verified');

    const chats = byName(spans, 'chat ');
    expect(chats.length).toBeGreaterThan(1);
    const events = await readTrace(result.tracePath);
    const responses = events.filter((e) => e.type === 'model.response');
    expect(chats.length).toBe(responses.length);
    const chat = chats[0]!;
    expect(chat.name).toBe('chat scripted');
    expect(chat.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(attr(chat.attributes, 'gen_ai.operation.name')).toBe('chat');
    expect(attr(chat.attributes, 'gen_ai.provider.name')).toBe('scripted');
    expect(attr(chat.attributes, 'gen_ai.request.model')).toBe('scripted');
    const first = responses[0]!;
    if (first.type !== 'model.response') throw new Error('unreachable');
    const u = first.usage;
    // The conventions count cached tokens inside input_tokens; the cache figures are parts of it.
    expect(attr(chat.attributes, 'gen_ai.usage.input_tokens')).toBe(u.input + u.cacheRead + u.cacheWrite);
    expect(attr(chat.attributes, 'gen_ai.usage.output_tokens')).toBe(u.output);
    expect(attr(chat.attributes, 'gen_ai.usage.cache_read.input_tokens')).toBe(u.cacheRead);
    expect(attr(chat.attributes, 'gen_ai.usage.cache_write.input_tokens')).toBe(u.cacheWrite);
    expect(attr(chat.attributes, 'gen_ai.response.finish_reasons')).toEqual([first.stopReason]);

    const tools = byName(spans, 'execute_tool ');
    expect(tools.length).toBe(events.filter((e) => e.type === 'tool.call').length);
    expect(tools.length).toBeGreaterThan(0);
    expect(tools[0]!.kind).toBe(1); // SPAN_KIND_INTERNAL
    expect(attr(tools[0]!.attributes, 'gen_ai.tool.name')).toBe(tools[0]!.name.slice('execute_tool '.length));
    expect(attr(tools[0]!.attributes, 'gen_ai.tool.call.id')).toBeTruthy();

    const graders = byName(spans, 'grader ');
    expect(graders.length).toBe(2); // failed on iteration 1, passed on 2
    const labels = graders.map((g) => {
      const evaluation = g.events.find((e) => e.name === 'gen_ai.evaluation.result');
      return attr(evaluation!.attributes, 'gen_ai.evaluation.score.label');
    });
    expect(labels).toEqual(['fail', 'pass']);

    // No content unless the loop opts in: no reply text, no tool arguments or results, no feedback.
    const keys = new Set(
      spans.flatMap((s) => [...s.attributes, ...s.events.flatMap((e) => e.attributes)].map((a) => a.key)),
    );
    for (const key of [
      'gen_ai.output.messages',
      'gen_ai.tool.call.arguments',
      'gen_ai.tool.call.result',
      'gen_ai.evaluation.explanation',
    ])
      expect(keys.has(key)).toBe(false);
  });

  it('writes a recorded run as OTLP JSON with the same ids as the live export', async () => {
    const result = await runExported('fix-tests');
    const out = join(scratch, 'run.json');
    const cli = await runCli(['trace', 'fix-tests', result.run, '--otlp', out], { scratch, cwd: repo.dir });
    expect(cli.exitCode).toBe(0);
    const file = JSON.parse(await readFile(out, 'utf8')) as OtlpRequest;
    const fileSpans = file.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const key = (s: OtlpSpan) => `${s.traceId}/${s.spanId}/${s.parentSpanId ?? ''}/${s.name}`;
    expect(fileSpans.map(key).sort()).toEqual(receiver.spans().map(key).sort());
    // A second export gives the same ids again.
    const again = join(scratch, 'again.json');
    await runCli(['trace', 'fix-tests', result.run, '--otlp', again], { scratch, cwd: repo.dir });
    expect(await readFile(again, 'utf8')).toBe(await readFile(out, 'utf8'));
  });

  it('exports content only for a loop that opts in', async () => {
    const loopMd = (await readFile(join(repo.dir, 'loops/fix-tests/LOOP.md'), 'utf8')).replace(
      'budget:',
      'telemetry: { content: true }\nbudget:',
    );
    await repo.addLoop('fix-tests', loopMd);
    await runExported('fix-tests');
    const spans = receiver.spans();
    const tool = byName(spans, 'execute_tool ')[0]!;
    expect(typeof attr(tool.attributes, 'gen_ai.tool.call.arguments')).toBe('string');
    const chat = byName(spans, 'chat ').find(
      (s) => attr(s.attributes, 'gen_ai.output.messages') !== undefined,
    );
    expect(chat).toBeDefined();
  });

  it('sends nothing when no endpoint is set', async () => {
    const supervisor = await Supervisor.open(repo.dir, { env: {}, maxRetries: 0 });
    await supervisor.start('fix-tests');
    await supervisor.shutdown();
    expect(receiver.requests).toEqual([]);
  });

  it('ends the run as usual when the collector is down', async () => {
    await receiver.close();
    const supervisor = await Supervisor.open(repo.dir, {
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' },
      maxRetries: 0,
      onError: () => undefined,
    });
    const result = await supervisor.start('fix-tests');
    await supervisor.shutdown();
    expect(result.outcome).toBe('verified');
    receiver = await startReceiver();
  });
});
