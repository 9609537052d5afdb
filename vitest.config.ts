import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Ink decides once, at import, whether it is in CI; when it is, it draws no live frames.
    env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false', NODE_ENV: 'development' },
  },
});
