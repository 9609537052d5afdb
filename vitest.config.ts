import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
    globalSetup: ['./test/support/global-setup.ts'],
    // Most test files wait on real child processes (git, the built CLI, tmux, MCP servers), not on the
    // CPU: on a 2-core machine the default (one worker per spare core) ran them nearly one at a time,
    // 7.8 min; three workers overlap the waiting, about 3 min.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Ink decides once, at import, whether it is in CI; when it is, it draws no live frames.
    env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false', NODE_ENV: 'development' },
  },
});
