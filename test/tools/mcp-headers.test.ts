/**
 * `headers:` on a streamable HTTP MCP server: validated where LOOP.md says it (file:line:field), and
 * sent with every request, `${NAME}` filled from loops' environment, against a local server of our own
 * that records what arrives.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { loadLoop } from '../../src/core/definition/load.js';
import { formatProblem } from '../../src/core/definition/problems.js';
import { Connectors } from '../../src/tools/mcp/connectors.js';
import { makeRepo, type TestRepo } from '../core/helpers.js';
import { startHttpMcp, type HttpMcp } from './fixtures/http-mcp.js';

describe('validating headers and env of an MCP server', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo();
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  async function problems(server: string): Promise<string[]> {
    await repo.addLoop('remote', `---\nname: remote\nagent:\n  mcp:\n    - ${server}\n---\nWork.\n`);
    const result = await loadLoop(repo.dir, 'remote');
    return result.ok ? [] : result.problems.map(formatProblem);
  }

  it('accepts a header that names a variable listed in env', async () => {
    expect(
      await problems(
        '{ name: gh, url: "https://mcp.example.com/mcp", env: [GH_TOKEN], headers: { Authorization: "Bearer ${GH_TOKEN}", X-Client: loops } }',
      ),
    ).toEqual([]);
  });

  it('refuses env on a url server that no header uses: it would be accepted and ignored', async () => {
    expect(await problems('{ name: gh, url: "https://mcp.example.com/mcp", env: [GH_TOKEN] }')).toEqual([
      expect.stringMatching(
        /^loops\/remote\/LOOP\.md:5: agent\.mcp\[0\]\.env: GH_TOKEN would reach no header/,
      ),
    ]);
  });

  it('refuses a header naming a variable not in env, a bad reference, a literal credential, headers on stdio', async () => {
    expect(
      await problems(
        '{ name: gh, url: "https://x.example/mcp", headers: { Authorization: "Bearer ${GH_TOKEN}" } }',
      ),
    ).toEqual([
      expect.stringMatching(
        /^loops\/remote\/LOOP\.md:5: agent\.mcp\[0\]\.headers\.Authorization: \$\{GH_TOKEN\} is not in this server's env/,
      ),
    ]);
    expect(
      await problems(
        '{ name: gh, url: "https://x.example/mcp", env: [T], headers: { X-Api: "$T", X-B: "${T}" } }',
      ),
    ).toEqual([expect.stringMatching(/agent\.mcp\[0\]\.headers\.X-Api: write a variable as \$\{NAME\}/)]);
    expect(
      await problems(
        '{ name: gh, url: "https://x.example/mcp", headers: { Authorization: "Bearer ghp_literal" } }',
      ),
    ).toEqual([expect.stringMatching(/headers\.Authorization: Authorization carries a credential/)]);
    expect(
      await problems('{ name: fs, command: fs-server, env: [T], headers: { Authorization: "Bearer ${T}" } }'),
    ).toEqual([
      expect.stringMatching(/agent\.mcp\[0\]\.headers: headers are sent to a streamable HTTP server/),
    ]);
  });
});

describe('headers sent to an HTTP server', () => {
  let server: HttpMcp;
  let open: Connectors | undefined;
  beforeEach(async () => {
    server = await startHttpMcp();
  });
  afterEach(async () => {
    await open?.close();
    open = undefined;
    await server.close();
  });

  it('carry the named variable from loops, on every request, and nothing else of its environment', async () => {
    open = await Connectors.open(
      [
        {
          name: 'remote',
          url: server.url,
          args: [],
          env: ['SERVICE_TOKEN'],
          headers: { Authorization: 'Bearer ${SERVICE_TOKEN}', 'X-Client': 'loops' },
        },
      ],
      {
        worktree: tmpdir(),
        baseEnv: {},
        sourceEnv: { SERVICE_TOKEN: 'tok-12345678', OTHER_SECRET: 'sk-other' },
        prepare: (spawn) => spawn,
        onLog: () => undefined,
        startTimeoutMs: 20_000,
      },
    );
    expect(open.tools.map((t) => t.spec.name)).toEqual(['mcp__remote__whoami']);
    const posts = server.requests.filter((h) => h['content-type']?.includes('application/json'));
    expect(posts.length).toBeGreaterThanOrEqual(3); // initialize, initialized, tools/list
    for (const h of posts) {
      expect(h.authorization).toBe('Bearer tok-12345678');
      expect(h['x-client']).toBe('loops');
    }
    expect(JSON.stringify(server.requests)).not.toContain('sk-other');
    // The server echoes the header back: the token is cut out of the result before model and trace.
    const said = await open.tools[0]?.execute(
      {},
      { worktree: tmpdir(), runTimeoutMs: 20_000, outputCap: 16_000, protectedPaths: [] },
    );
    expect(said).toEqual({ ok: true, output: 'you are Bearer [redacted]' });
  });
});
