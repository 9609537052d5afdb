/**
 * Triage calls count against the fleet's caps as they are billed. A triage is made outside any run,
 * so its model.response reaches no event stream the fleet gate watches: through the owner's own jobs
 * (daemon/jobs.ts), a burst of triaged webhook deliveries must meet the daily cap at once, not after
 * the next start reseeds the gate from the ledger. Real supervisor, real webhook server, the fake
 * Anthropic API.
 */
import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Supervisor } from '../../src/core/supervisor.js';
import type { LoopEvent } from '../../src/core/events.js';
import { ownerJobs } from '../../src/daemon/jobs.js';
import { FleetGate } from '../../src/fleet/gate.js';
import { TRIAGE_TOOL } from '../../src/triggers/triage-answer.js';
import type { WebhookServer } from '../../src/triggers/webhook.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { startFakeAnthropic, type FakeServer } from '../support/fake-anthropic.js';

const SECRET = 'fleet-triage-secret';
const LOOP = `---
name: triaged
agent:
  provider: anthropic
  model: claude-sonnet-4-6
  route: { triage: claude-haiku-4-5 }
trigger:
  webhook: true
  triage: "run only when the failure is in src/"
verify:
  - command: "true"
---
Fix it.
`;

let repo: TestRepo;
let fake: FakeServer | undefined;
let supervisor: Supervisor | undefined;

beforeEach(async () => {
  repo = await makeRepo();
  await repo.addLoop('triaged', LOOP);
});

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await fake?.close();
  await repo.cleanup();
});

it("counts each triage call's dollars at the fleet gate as it is billed", async () => {
  fake = await startFakeAnthropic(() => ({
    toolCalls: [{ name: TRIAGE_TOOL, input: { run: false, reason: 'not in src/' } }],
    usage: { input_tokens: 20_000, output_tokens: 500 },
  }));
  // Far above one call's cost, so only the counting is tested: the cap is not reached.
  const gate = new FleetGate({ daily_usd: 100 });
  supervisor = await Supervisor.open(repo.dir, {
    env: {
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: fake.url,
      LOOPS_WEBHOOK_SECRET: SECRET,
      PATH: process.env.PATH,
    },
    maxRetries: 0,
    callGate: gate,
  });
  const events: LoopEvent[] = [];
  supervisor.subscribe((e) => events.push(e));
  await supervisor.addJob(gate);
  const s = supervisor;
  const jobs = await ownerJobs({ reload: () => s.reload(), callGate: gate, webhookPort: 0 });
  const webhook = jobs.find((j): j is WebhookServer => j.name === 'webhook server');
  if (!webhook) throw new Error(`no webhook job among ${jobs.map((j) => j.name).join(', ')}`);
  await supervisor.addJob(webhook);
  expect(gate.usage().todayUsd).toBe(0);

  for (const id of ['d1', 'd2', 'd3']) {
    const body = JSON.stringify({ failure: `docs/${id}.md` });
    const response = await fetch(`http://127.0.0.1:${webhook.port}/hooks/triaged`, {
      method: 'POST',
      body,
      headers: {
        'X-GitHub-Delivery': id,
        'X-Hub-Signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
    });
    expect(response.status).toBe(202);
  }
  for (;;) {
    if (events.filter((e) => e.type === 'trigger.fired').length === 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const decided = events.flatMap((e) => (e.type === 'triage.decided' ? [e.usd ?? 0] : []));
  expect(decided).toHaveLength(3);
  const total = decided.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(0);
  expect(gate.usage().todayUsd).toBeCloseTo(total, 10);
  expect(gate.usage().burnUsdPerHour).toBeCloseTo(total * 4, 10);
});
